import { createHash } from 'node:crypto';
import { artifactKey as layoutKey, artifactVersion, logKey, selftestKey } from '../domain/artifact-layout';
import type { BuildPhaseDetail } from '../domain/events';
import { buildPhaseDetail } from '../domain/events';
import type { Phase } from '../domain/build';
import type { BuildStore } from '../domain/ports';
import type { Ec2Instance, Ec2StandIn } from '../stand-ins/ec2';
import type { SimulatedClock } from './clock';

// The on-instance runner, simulated: once its machine is running it reports `Build Phase` events
// as packer/'s runner does (cloning, building for about 80 minutes, uploading, completed) and
// then powers the machine off. SANDBOX_OUTCOME decides how the build step ends; it is read when
// that step ends, so changing it on the page affects builds already running. A self-test
// (`Kind: "selftest"`) runs packer/runner.sh's `run_selftest` instead: its checks pass, its small
// object is written, and it ends `completed` with the self-test layout a few minutes in.

export const OUTCOMES = ['success', 'failure', 'hang', 'no-capacity'] as const;
export type Outcome = (typeof OUTCOMES)[number];

export function isOutcome(value: unknown): value is Outcome {
  return typeof value === 'string' && (OUTCOMES as readonly string[]).includes(value);
}

/** Minutes after the machine is running. */
export const TIMELINE = { cloning: 1, building: 3, buildMinutes: 80, uploadMinutes: 5, powerOffAfter: 1 } as const;

export const FAILURE_MESSAGE = 'packer build failed: Script exited with non-zero exit status: 1 (scripts/prewarm.sh)';
export const FAILURE_LOG_TAIL = [
  '==> qemu.hedgehog-lab: Provisioning with shell script: scripts/prewarm.sh',
  '    qemu.hedgehog-lab: + kubectl wait --for=condition=Ready pods --all -A --timeout=600s',
  '    qemu.hedgehog-lab: pod/fabric-boot-0 condition met',
  '    qemu.hedgehog-lab: error: timed out waiting for the condition on pods/fabric-ctrl-7d9c5',
  '==> qemu.hedgehog-lab: Script exited with non-zero exit status: 1. Allowed exit codes are: [0]',
  "Build 'qemu.hedgehog-lab' errored after 1 hour 20 minutes: Script exited with non-zero exit status: 1",
  '==> Builds finished but no artifacts were created.',
].join('\n');

/** Minutes after the machine is running, for a self-test. */
export const SELFTEST_TIMELINE = { cloning: 1, building: 2, uploading: 3, completed: 3 } as const;

/** What the self-test's checks report on the sandbox's simulated machine (runner.sh's wording). */
const SELFTEST_CHECKS = [
  { name: 'kvm', ok: true, detail: 'no /dev/kvm on this type (information: a self-test needs none)' },
  { name: 'github-token', ok: true, detail: 'no GitHub secret configured: the repository is public' },
  { name: 'repository', ok: true, detail: 'git ls-remote resolved HEAD' },
  { name: 's3', ok: true, detail: 'wrote the self-test object' },
  { name: 'logs', ok: true, detail: 'streaming to CloudWatch Logs' },
] as const;

/** About the size of the pre-warmed OVA. */
const ARTIFACT_BYTES = 29_318_356_992;

export interface SimulatedRunnerOptions {
  clock: SimulatedClock;
  /** The EC2 stand-in the machine runs in: its state, and the guest's own power-off. */
  ec2: Pick<Ec2StandIn, 'get' | 'powerOff'>;
  /** Read only, for what the real runner learns from its user data (branch, commit). */
  store: BuildStore;
  /** The build's eventToken, as its build.json would carry it (the sandbox's EVENT_TOKEN_KEY). */
  eventToken: (buildId: string) => string;
  artifactBucket: string;
  outcome: () => Outcome;
  /** PutEvents of one `Build Phase` (source labapp.metal-build.runner). */
  put: (detail: BuildPhaseDetail) => Promise<void>;
  /** Lines of the machine's CloudWatch log (never throws); none when not given. */
  log?: (buildId: string, instanceId: string, lines: readonly string[]) => Promise<void>;
}

/** Minutes into the build step at which the log shows progress. */
const PROGRESS_AT = [20, 40, 60] as const;
/** While hung, a log line every this many minutes. */
const HANG_LOG_EVERY = 10;

const sha = (text: string) => createHash('sha256').update(text).digest('hex');

/** The full commit the runner "checked out": the requested one, completed to 40 characters. */
export function checkedOutCommit(branch: string, commit: string | undefined): string {
  const given = commit?.toLowerCase() ?? '';
  return (given + sha(`${branch}@${given}`)).slice(0, 40);
}

/** Where packer/runner.sh puts the OVA: domain/artifact-layout.ts, the only key the handler accepts. */
export function artifactKey(buildId: string, branch: string, commit: string): string {
  return layoutKey(buildId, artifactVersion(branch, commit) ?? '0.0.0-unknown');
}

export class SimulatedRunner {
  constructor(private readonly options: SimulatedRunnerOptions) {}

  /** Called when a machine reaches `running`: the runner's boot. */
  start(machine: Pick<Ec2Instance, 'instanceId' | 'tags'>): void {
    const buildId = machine.tags.BuildID;
    if (!buildId) return;
    const { clock } = this.options;
    const startedAt = clock.now();
    const instanceId = machine.instanceId;
    const alive = () => this.options.ec2.get(instanceId)?.state === 'running';
    const log = (...lines: string[]) => this.options.log?.(buildId, instanceId, lines) ?? Promise.resolve();
    let hungMinutes = 0;

    let commit = '';
    let branch = 'main';
    let isSelftest = false;
    const phase = async (p: Phase, extra: Partial<BuildPhaseDetail> = {}) => {
      const now = clock.now();
      const detail = buildPhaseDetail.parse({
        buildId,
        instanceId,
        eventToken: this.options.eventToken(buildId),
        phase: p,
        at: now.toISOString(),
        ...extra,
      });
      await this.options.put(detail);
    };
    const finished = () => ({
      durationSeconds: Math.round((clock.now().getTime() - startedAt.getTime()) / 1000),
      logKey: logKey(buildId),
    });
    const powerOff = () => clock.after(TIMELINE.powerOffAfter, () => this.options.ec2.powerOff(instanceId));

    const endOfBuild = async () => {
      if (!alive()) return;
      const outcome = this.options.outcome();
      if (outcome === 'hang') {
        if (hungMinutes++ % HANG_LOG_EVERY === 0) await log('    qemu.hedgehog-lab: + kubectl wait --for=condition=Ready pods --all -A (still waiting)');
        // Stuck inside the build step: look again in a minute (the outcome may be changed live).
        clock.after(1, endOfBuild);
        return;
      }
      if (outcome === 'failure') {
        await log(...FAILURE_LOG_TAIL.split('\n'));
        await phase('failed', { message: FAILURE_MESSAGE, logTail: FAILURE_LOG_TAIL, actualCommit: commit, ...finished() });
        powerOff();
        return;
      }
      const key = artifactKey(buildId, branch, commit);
      await log("Build 'qemu.hedgehog-lab' finished.", `==> Uploading the OVA to s3://${this.options.artifactBucket}/${key}`);
      await phase('uploading', { actualCommit: commit, message: 'Uploading the OVA to S3' });
      clock.after(TIMELINE.uploadMinutes, async () => {
        if (!alive()) return;
        await log('==> Uploaded; powering off');
        await phase('completed', {
          actualCommit: commit,
          artifact: { bucket: this.options.artifactBucket, key, sha256: sha(key), bytes: ARTIFACT_BYTES },
          ...finished(),
        });
        powerOff();
      });
    };

    const selftest = async () => {
      const key = selftestKey(buildId);
      const result = JSON.stringify({ buildId, at: clock.now().toISOString(), checks: SELFTEST_CHECKS });
      const steps: Array<[number, () => Promise<void>]> = [
        [SELFTEST_TIMELINE.building, () => phase('building', { actualCommit: commit, message: 'self-test: the repository is reachable' })],
        [SELFTEST_TIMELINE.uploading, () => phase('uploading')],
        [
          SELFTEST_TIMELINE.completed,
          async () => {
            await log('self-test finished; powering off');
            await phase('completed', {
              actualCommit: commit,
              artifact: { bucket: this.options.artifactBucket, key, sha256: sha(result), bytes: Buffer.byteLength(result) },
              checks: [...SELFTEST_CHECKS],
              message: 'self-test finished',
              ...finished(),
            });
            powerOff();
          },
        ],
      ];
      await log(`metal-build runner: self-test ${buildId} on ${instanceId}`, `==> git ls-remote HEAD: ${commit.slice(0, 12)}`);
      await phase('cloning', { message: 'self-test; KVM: absent (information)' });
      for (const [at, step] of steps)
        clock.after(at - SELFTEST_TIMELINE.cloning, async () => {
          if (alive()) await step();
        });
    };

    clock.after(TIMELINE.cloning, async () => {
      if (!alive()) return;
      const build = await this.options.store.get(buildId);
      if (build?.Kind === 'selftest') {
        isSelftest = true;
        commit = checkedOutCommit('HEAD', undefined);
        await selftest();
        return;
      }
      branch = build?.BuildBranch ?? branch;
      commit = checkedOutCommit(branch, build?.BuildCommit);
      await log(`metal-build runner: build ${buildId} on ${instanceId}`, `==> Cloning ${branch}`, `HEAD is now at ${commit.slice(0, 12)}`);
      await phase('cloning', { message: `Cloning ${branch}` });
    });
    clock.after(TIMELINE.building, async () => {
      if (!alive() || isSelftest) return;
      await log('==> packer build (pre-warmed OVA)', '    qemu.hedgehog-lab: Starting the VM');
      await phase('building', { actualCommit: commit, message: 'packer build (pre-warmed OVA)' });
      for (const m of PROGRESS_AT)
        clock.after(m, async () => {
          if (alive()) await log(`    qemu.hedgehog-lab: provisioning (${m} min into the build)`);
        });
      clock.after(TIMELINE.buildMinutes, endOfBuild);
    });
  }
}
