import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { artifactKey, artifactVersion, logKey } from '../../domain/artifact-layout';
import { BUCKET, BUILD_ID, EVENT_TOKEN, INSTANCE_ID, LOG_KEY, SHA, removeRuns, runRunner, type RunOptions, type RunResult } from './runner-harness';

// packer/runner.sh run for real by bash, every host command stubbed (test/packer/stub.sh).
// Each event the runner puts is parsed with domain/events.ts's buildPhaseDetail by the harness:
// a malformed event fails the run's test.

// Each run spawns about a hundred short processes: seconds on an idle machine, much more on a
// loaded CI runner. The timeouts are for hangs, not for speed.
const RUN = { timeout: 120_000 };

afterAll(removeRuns);

const s3Key = (key: string) => `${BUCKET}/${key}`;
const phases = (r: RunResult) => r.events.map((e) => e.phase);
const gitCall = (r: RunResult, sub: string) => r.calls.filter((c) => c.name === 'git' && c.argv.includes(sub));
/** The packages of each `apt-get install`, in order. */
const aptInstalls = (r: RunResult) =>
  r
    .of('apt-get')
    .filter((c) => c.argv.includes('install'))
    .map((c) => c.argv.slice(c.argv.indexOf('install') + 1).filter((a) => !a.startsWith('-')));
/** Files under the run's folder whose name says an injected command ran. */
const pwned = (r: RunResult) => (readdirSync(r.dir, { recursive: true }) as string[]).filter((f) => f.includes('pwned'));

/** A failed run: one `failed` event, last, with the log's tail; the log in S3; powered off. */
function expectFailedRun(r: RunResult, before: string[], message: RegExp) {
  expect(r.code).not.toBe(0);
  expect(phases(r)).toEqual([...before, 'failed']);
  const failed = r.events.at(-1)!;
  expect(failed.message).toMatch(message);
  expect(failed.logKey).toBe(LOG_KEY);
  expect(failed.logTail).toBeTruthy();
  expect(Buffer.byteLength(failed.logTail!, 'utf8')).toBeLessThanOrEqual(4096);
  expect(failed.logTail).toContain(failed.message!.slice(0, 60));
  const uploadedLog = r.s3.get(s3Key(LOG_KEY));
  expect(uploadedLog).toContain(`FAILED: ${failed.message}`);
  expect(r.calls.at(-1)).toMatchObject({ name: 'shutdown', argv: ['-h', 'now'] });
}

describe('runner: a successful branch build', RUN, () => {
  let r: RunResult;
  beforeAll(async () => {
    r = await runRunner({ config: { commit: 'abc1234' } });
  }, RUN.timeout);

  it('reports cloning, building, uploading, completed, in that order, and exits 0', () => {
    expect(r.code).toBe(0);
    expect(phases(r)).toEqual(['cloning', 'building', 'uploading', 'completed']);
    for (const e of r.events) expect(e).toMatchObject({ buildId: BUILD_ID, instanceId: INSTANCE_ID });
    expect(r.events[1]!.actualCommit).toBe(SHA);
  });

  it("carries build.json's eventToken in every event, and nowhere else: no argument, log line, S3 object or CloudWatch line", () => {
    expect(r.events.map((e) => e.eventToken)).toEqual([EVENT_TOKEN, EVENT_TOKEN, EVENT_TOKEN, EVENT_TOKEN]);
    for (const call of r.calls) expect(call.argv.join(' ')).not.toContain(EVENT_TOKEN);
    expect(r.log).not.toContain(EVENT_TOKEN);
    for (const body of r.s3.values()) expect(body).not.toContain(EVENT_TOKEN);
    expect(r.cloudwatch.join('\n')).not.toContain(EVENT_TOKEN);
  });

  it('names the artifact and the log exactly as the handler expects them (domain/artifact-layout.ts)', () => {
    const completed = r.events.at(-1)!;
    expect(completed.artifact!.key).toBe(artifactKey(BUILD_ID, artifactVersion('main', SHA)!));
    expect(completed.logKey).toBe(logKey(BUILD_ID));
  });

  it('schedules the power-off at the lifetime before anything else, and powers off at the end', () => {
    expect(r.calls[0]).toMatchObject({ name: 'shutdown', argv: ['-h', '+300'] });
    expect(r.calls.at(-1)).toMatchObject({ name: 'shutdown', argv: ['-h', 'now'] });
    expect(r.of('apt-get')).toEqual([]);
  });

  it('clones the branch, checks out the commit and builds version 0.0.0-<short sha>', () => {
    expect(gitCall(r, 'clone')[0]!.argv).toEqual([
      '-c',
      'credential.helper=',
      'clone',
      '--quiet',
      '--branch',
      'main',
      '--',
      'https://github.com/afewell-hh/labapp.git',
      r.srcDir,
    ]);
    expect(gitCall(r, 'checkout')[0]!.argv).toEqual(['-C', r.srcDir, 'checkout', '--quiet', '--detach', 'abc1234']);
    expect(r.of('packer', 'init')[0]).toMatchObject({ cwd: r.srcDir, argv: ['init', 'packer/prewarmed-build.pkr.hcl'] });
    const build = r.of('packer', 'build')[0]!;
    expect(build.cwd).toBe(r.srcDir);
    expect(build.argv).toEqual(expect.arrayContaining(['-force', '-var', 'version=0.0.0-0123456']));
    expect(build.argv.at(-1)).toBe('packer/prewarmed-build.pkr.hcl');
  });

  it('publishes the OVA, its checksum and metadata under builds/<build-id>/ and says so in `completed`', () => {
    const prefix = `builds/${BUILD_ID}/hedgehog-lab-prewarmed-0.0.0-0123456`;
    const ova = r.s3.get(s3Key(`${prefix}.ova`))!;
    const sha256 = createHash('sha256').update(ova).digest('hex');
    expect(r.s3.get(s3Key(`${prefix}.ova.sha256`))).toBe(`${sha256}  hedgehog-lab-prewarmed-0.0.0-0123456.ova\n`);
    const metadata = JSON.parse(r.s3.get(s3Key(`${prefix}.json`))!) as Record<string, unknown>;
    expect(metadata).toMatchObject({
      version: '0.0.0-0123456',
      buildId: BUILD_ID,
      branch: 'main',
      commit: SHA,
      requestedCommit: 'abc1234',
      sha256,
      bytes: Buffer.byteLength(ova),
      instanceType: 'c5n.metal',
    });
    expect(Date.parse(String(metadata.finished))).toBeGreaterThanOrEqual(Date.parse(String(metadata.started)));
    expect(r.events.at(-1)).toMatchObject({
      phase: 'completed',
      actualCommit: SHA,
      logKey: LOG_KEY,
      artifact: { bucket: BUCKET, key: `${prefix}.ova`, sha256, bytes: Buffer.byteLength(ova) },
    });
    expect(r.events.at(-1)!.durationSeconds).toBeGreaterThanOrEqual(0);
    expect([...r.s3.keys()].some((k) => k.includes('releases/'))).toBe(false);
  });

  it('gives packer no PACKER_GITHUB_API_TOKEN when no GitHub token is configured', () => {
    expect(readFileSync(join(r.dir, 'stub', 'packer-github-token-init'), 'utf8')).toBe('(unset)');
    expect(readFileSync(join(r.dir, 'stub', 'packer-github-token-build'), 'utf8')).toBe('(unset)');
  });

  it('uploads with 100 MB multipart threshold and chunks', () => {
    const upload = r.of('aws', 's3', 'cp').find((c) => c.argv.at(-1)!.endsWith('.ova'))!;
    const awsConfig = readFileSync(upload.awsConfigFile, 'utf8');
    expect(awsConfig).toMatch(/multipart_threshold = 100MB/);
    expect(awsConfig).toMatch(/multipart_chunksize = 100MB/);
  });

  it('streams the log to CloudWatch (with a retention) and uploads it to builds/<id>/logs/build.log', () => {
    const group = `/labapp/metal-builds/${BUILD_ID}`;
    expect(r.of('aws', 'logs', 'create-log-group')[0]!.argv).toEqual(['logs', 'create-log-group', '--log-group-name', group]);
    expect(r.of('aws', 'logs', 'put-retention-policy')[0]!.argv).toEqual(expect.arrayContaining(['--retention-in-days', '30']));
    expect(r.cloudwatch.join('\n')).toContain('metal-build runner starting');
    expect(r.cloudwatch.join('\n')).toContain('build completed');
    expect(r.s3.get(s3Key(LOG_KEY))).toContain('event: completed');
  });
});

describe('runner: failures', RUN, () => {
  it.concurrent('at clone: one failed event, log uploaded, power-off, no build', async () => {
    const r = await runRunner({ fail: ['clone'] });
    expectFailedRun(r, ['cloning'], /git clone of branch 'main' .* failed \(exit 128\)/);
    expect(r.events.at(-1)!.logTail).toContain('Remote branch main not found');
    expect(r.of('packer')).toEqual([]);
  });

  it.concurrent('at packer: one failed event whose logTail is the end of the log, at most 4 KB', async () => {
    const r = await runRunner({ fail: ['packer'], packerLines: 500 });
    expectFailedRun(r, ['cloning', 'building'], /packer build failed \(exit 1\)/);
    const failed = r.events.at(-1)!;
    expect(failed.actualCommit).toBe(SHA);
    expect(failed.logTail).toContain("Build 'qemu.ubuntu' errored");
    expect(failed.logTail).toContain('état ✓');
    expect(Buffer.byteLength(failed.logTail!, 'utf8')).toBeGreaterThan(3000);
    expect(r.of('aws', 's3', 'cp').map((c) => c.argv.at(-1))).toEqual([`s3://${BUCKET}/${LOG_KEY}`]);
  });

  it.concurrent('at upload: one failed event after uploading', async () => {
    const r = await runRunner({ fail: ['upload'] });
    expectFailedRun(r, ['cloning', 'building', 'uploading'], /upload of s3:\/\/.*\.ova failed/);
    expect(r.events.filter((e) => e.phase === 'completed')).toEqual([]);
  });

  it.concurrent('without KVM: fails clearly before cloning, naming the instance type and what to choose instead', async () => {
    const r = await runRunner({ fail: ['kvm'] });
    expectFailedRun(
      r,
      [],
      /^KVM is not available on c5n\.metal \(kvm-ok: INFO: \/dev\/kvm does not exist .*\); choose a \.metal type .*nested virtualization$/,
    );
    expect(gitCall(r, 'clone')).toEqual([]);
  });

  it.concurrent('with less than 300 GB free: fails clearly before cloning', async () => {
    const r = await runRunner({ diskGb: 120 });
    expectFailedRun(r, [], /not enough free disk: 120 GB free .* needs 300 GB/);
    expect(gitCall(r, 'clone')).toEqual([]);
  });

  it.concurrent('when stopped by a signal (lifetime reached): one failed event, log uploaded, power-off', async () => {
    const r = await runRunner({ fail: ['packer-signal'] });
    expectFailedRun(r, ['cloning', 'building'], /stopped by a signal while packer build/);
  });

  it.concurrent('still reports when put-events refuses an entry once (retried)', async () => {
    const r = await runRunner({ fail: ['put-events-once'] });
    expect(r.code).toBe(0);
    expect(phases(r)).toEqual(['cloning', 'building', 'uploading', 'completed']);
    expect(r.log).toMatch(/put-events for cloning failed \(attempt 1\)/);
  });
});

describe('runner: KVM, checked and reported before the clone', RUN, () => {
  const choose = 'choose a .metal type such as c5n.metal, or a C8i, M8i or R8i type, which the bot launches with nested virtualization';

  it.concurrent('kvm-ok failing on m8i.8xlarge: one failed event naming the type and the alternatives; no clone; powered off', async () => {
    const r = await runRunner({ fail: ['kvm'], instanceType: 'm8i.8xlarge' });
    expectFailedRun(r, [], /^KVM is not available on m8i\.8xlarge \(kvm-ok: INFO: \/dev\/kvm does not exist HINT: .*KVM acceleration can NOT be used\); /);
    expect(r.events[0]!.message!.endsWith(`; ${choose}`)).toBe(true);
    expect(r.of('git')).toEqual([]);
    expect(r.of('aws', 'secretsmanager')).toEqual([]);
    expect(r.of('packer')).toEqual([]);
    expect(r.log).not.toContain('KVM works');
  });

  it.concurrent('no KVM device although kvm-ok passes: one failed event naming the device, the type and the alternatives; no clone', async () => {
    const r = await runRunner({ kvmDevice: false, instanceType: 'c8i-flex.8xlarge' });
    expectFailedRun(r, [], new RegExp(`^KVM is not available on c8i-flex\\.8xlarge \\(${r.dir}/dev/kvm does not exist\\); `));
    expect(r.events[0]!.message!.endsWith(`; ${choose}`)).toBe(true);
    expect(r.of('git')).toEqual([]);
    expect(r.calls.at(-1)).toMatchObject({ name: 'shutdown', argv: ['-h', 'now'] });
  });

  const reports: [string, RunOptions, string][] = [
    [
      'nested Y (kvm_intel)',
      { instanceType: 'm8i.8xlarge', nestedKvm: { module: 'kvm_intel', value: 'Y' } },
      'KVM works on m8i.8xlarge; nested KVM (kvm_intel) allowed',
    ],
    [
      'nested N (kvm_intel)',
      { instanceType: 'm8i.8xlarge', nestedKvm: { module: 'kvm_intel', value: 'N' } },
      'KVM works on m8i.8xlarge; nested KVM (kvm_intel) not allowed: a guest cannot start VMs of its own',
    ],
    [
      'nested 1 (kvm_amd)',
      { instanceType: 'm7a.metal-48xl', nestedKvm: { module: 'kvm_amd', value: '1' } },
      'KVM works on m7a.metal-48xl; nested KVM (kvm_amd) allowed',
    ],
    [
      'nested 0 (kvm_amd)',
      { nestedKvm: { module: 'kvm_amd', value: '0' } },
      'KVM works on c5n.metal; nested KVM (kvm_amd) not allowed: a guest cannot start VMs of its own',
    ],
    ['no nested parameter', { instanceType: 'r8i.8xlarge', nestedKvm: null }, 'KVM works on r8i.8xlarge; nested KVM unknown'],
    [
      'an unexpected nested value, kept inert',
      { instanceType: 'c8i.8xlarge', nestedKvm: { module: 'kvm_intel', value: '$(touch pwned)' } },
      'KVM works on c8i.8xlarge; nested KVM (kvm_intel) unknown',
    ],
  ];
  it.concurrent.each(reports)('%s: the first phase, cloning, carries the KVM report, which the log has too', async (_name, options, report) => {
    const r = await runRunner(options);
    expect(r.code).toBe(0);
    expect(phases(r)).toEqual(['cloning', 'building', 'uploading', 'completed']);
    expect(r.events[0]!.message).toBe(`cloning main; ${report}`);
    const logLines = r.log.split('\n');
    const at = logLines.findIndex((line) => line.endsWith(` ${report}`));
    expect(at).toBeGreaterThan(0);
    expect(at).toBeLessThan(logLines.findIndex((line) => line.includes('cloning ')));
    expect(pwned(r)).toEqual([]);
  });
});

describe('runner: hostile branch and commit values stay inert', RUN, () => {
  const cases: [string, string][] = [
    ['$(touch pwned1)', '`touch pwned2`'],
    ['main;touch pwned3', 'abc1234\ntouch pwned4'],
    [`it's "quoted"\n$(touch pwned5) && touch pwned6`, `'; touch pwned7; '`],
  ];
  it.concurrent.each(cases)('branch %j, commit %j', async (branch, commit) => {
    const r = await runRunner({ config: { branch, commit } });
    expect(pwned(r)).toEqual([]);
    const clone = gitCall(r, 'clone')[0]!.argv;
    expect(clone[clone.indexOf('--branch') + 1]).toBe(branch);
    expect(gitCall(r, 'checkout')[0]!.argv.at(-1)).toBe(commit);
    const metadata = [...r.s3.entries()].find(([k]) => k.endsWith('.json'))![1];
    expect(JSON.parse(metadata)).toMatchObject({ branch, requestedCommit: commit });
    expect(phases(r)).toEqual(['cloning', 'building', 'uploading', 'completed']);
  });

  it.concurrent('without an eventToken in build.json: nothing is built, no event is sent, the machine powers off', async () => {
    const r = await runRunner({ config: { eventToken: undefined } });
    expect(r.code).not.toBe(0);
    expect(r.events).toEqual([]);
    expect(r.of('git')).toEqual([]);
    expect(r.log).toContain('lacks a valid value for EVENT_TOKEN');
    expect(r.calls.at(-1)).toMatchObject({ name: 'shutdown', argv: ['-h', 'now'] });
  });

  it.concurrent('refuses a value that git would read as an option', async () => {
    const r = await runRunner({ config: { branch: '--upload-pack=touch pwned' } });
    expectFailedRun(r, [], /refusing branch .* starts with '-'/);
    expect(r.of('git')).toEqual([]);
    expect(pwned(r)).toEqual([]);
  });
});

describe('runner: the GitHub token', RUN, () => {
  const token = `ghp_${'x'.repeat(36)}`;
  let r: RunResult;
  beforeAll(async () => {
    r = await runRunner({ token, config: { githubSecretArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:github-token-AbCdEf' } });
  }, RUN.timeout);

  it('is read from Secrets Manager at run time and reaches git through GIT_ASKPASS', () => {
    expect(r.code).toBe(0);
    expect(r.of('aws', 'secretsmanager', 'get-secret-value')[0]!.argv).toEqual(
      expect.arrayContaining(['--secret-id', 'arn:aws:secretsmanager:us-east-1:123456789012:secret:github-token-AbCdEf']),
    );
    expect(existsSync(join(r.dir, 'stub', 'askpass-ok'))).toBe(true);
  });

  it("reaches `packer init` and `packer build` as PACKER_GITHUB_API_TOKEN (GitHub's API limit), and no log line", () => {
    expect(readFileSync(join(r.dir, 'stub', 'packer-github-token-init'), 'utf8')).toBe(token);
    expect(readFileSync(join(r.dir, 'stub', 'packer-github-token-build'), 'utf8')).toBe(token);
    expect(existsSync(join(r.dir, 'stub', 'git-saw-packer-token'))).toBe(false);
    expect(r.log.split('\n').filter((line) => line.includes(token))).toEqual([]);
  });

  it('appears in no argument, log, event, S3 object, CloudWatch line or .git/config', () => {
    for (const call of r.calls) expect(call.argv.join(' ')).not.toContain(token);
    expect(r.log).not.toContain(token);
    expect(JSON.stringify(r.events)).not.toContain(token);
    for (const body of r.s3.values()) expect(body).not.toContain(token);
    expect(r.cloudwatch.join('\n')).not.toContain(token);
    expect(readFileSync(join(r.srcDir, '.git', 'config'), 'utf8')).not.toContain(token);
    expect(readFileSync(join(r.workDir, 'git-askpass'), 'utf8')).not.toContain(token);
  });
});

describe('runner: releases', RUN, () => {
  const releaseRun = (options: RunOptions = {}) => runRunner({ ...options, config: { branch: 'v1.2.3' } });
  const buildFiles = [
    `builds/${BUILD_ID}/hedgehog-lab-prewarmed-1.2.3.json`,
    `builds/${BUILD_ID}/hedgehog-lab-prewarmed-1.2.3.ova`,
    `builds/${BUILD_ID}/hedgehog-lab-prewarmed-1.2.3.ova.sha256`,
    LOG_KEY,
  ];

  it.concurrent('a vX.Y.Z build writes version X.Y.Z under builds/<build-id>/ only, never releases/', async () => {
    const r = await releaseRun();
    expect(r.code).toBe(0);
    expect(r.of('packer', 'build')[0]!.argv).toContain('version=1.2.3');
    expect([...r.s3.keys()].sort()).toEqual(buildFiles.map(s3Key).sort());
    expect(r.events.at(-1)!.artifact!.key).toBe(`builds/${BUILD_ID}/hedgehog-lab-prewarmed-1.2.3.ova`);
    expect(r.events.at(-1)!.artifact!.key).toBe(artifactKey(BUILD_ID, artifactVersion('v1.2.3', SHA)!));
    // Only read: a published version spares a build.
    expect(r.of('aws', 's3api', 'list-objects-v2')[0]!.argv).toEqual(expect.arrayContaining(['--prefix', 'releases/v1.2.3/']));
    expect(r.of('aws', 's3', 'cp').map((c) => c.argv.at(-1))).not.toContainEqual(expect.stringContaining('/releases/'));
  });

  it.concurrent('an existing release is refused before any build, and nothing is written under releases/', async () => {
    const r = await releaseRun({ releaseExists: 'always' });
    expectFailedRun(r, [], /release v1\.2\.3 already exists .* never overwritten/);
    expect(r.of('packer')).toEqual([]);
    expect([...r.s3.keys()]).toEqual([s3Key(LOG_KEY)]);
  });

  it.concurrent('a release that appears during the build is not touched: the build still completes under builds/<build-id>/', async () => {
    const r = await releaseRun({ releaseExists: 'after-build' });
    expect(r.code).toBe(0);
    expect(phases(r)).toEqual(['cloning', 'building', 'uploading', 'completed']);
    expect([...r.s3.keys()].sort()).toEqual(buildFiles.map(s3Key).sort());
  });
});

describe('runner: a machine without the builder AMI', RUN, () => {
  it.concurrent('installs the missing tools (apt, AWS CLI v2, pinned Packer), then builds', async () => {
    const r = await runRunner({ bare: true });
    expect(r.code).toBe(0);
    // What cloning and reporting need first, the rest once the template is known to exist.
    expect(aptInstalls(r)).toEqual([
      ['git', 'unzip', 'cpu-checker'],
      ['qemu-kvm', 'qemu-utils'],
    ]);
    expect(r.of('apt-get', '-o', 'DPkg::Lock::Timeout=600', 'update')).toHaveLength(1);
    const downloads = r.of('curl').map((c) => c.argv.at(-1));
    expect(downloads).toEqual(
      expect.arrayContaining([
        'https://awscli.amazonaws.com/awscli-exe-linux-x86_64.zip',
        'https://releases.hashicorp.com/packer/1.11.2/packer_1.11.2_linux_amd64.zip',
        'https://releases.hashicorp.com/packer/1.11.2/packer_1.11.2_SHA256SUMS',
      ]),
    );
    expect(phases(r)).toEqual(['cloning', 'building', 'uploading', 'completed']);
  });

  it.concurrent('`runner.sh --install-tools` (the AMI build) installs the same tools and the QEMU plugin, and builds nothing', async () => {
    const r = await runRunner({ bare: true, installTools: true });
    expect(r.code).toBe(0);
    expect(aptInstalls(r).flat()).toEqual(['git', 'unzip', 'cpu-checker', 'qemu-kvm', 'qemu-utils']);
    expect(r.of('packer', 'plugins')[0]!.argv).toEqual(['plugins', 'install', 'github.com/hashicorp/qemu', 'v1.1.0']);
    expect(r.of('shutdown')).toEqual([]);
    expect(r.of('git')).toEqual([]);
    expect(r.events).toEqual([]);
  });
});

describe('runner: the Packer template (build.json packerTemplate, from PACKER_TEMPLATE)', RUN, () => {
  it.concurrent('builds the template build.json names', async () => {
    const template = 'packer/lab/other_build-2.pkr.hcl';
    const r = await runRunner({ config: { packerTemplate: template }, templateInRepo: template });
    expect(r.code).toBe(0);
    expect(r.of('packer', 'init')[0]!.argv).toEqual(['init', template]);
    expect(r.of('packer', 'build')[0]!.argv.at(-1)).toBe(template);
  });

  it.concurrent('missing from the commit: one failed event naming the commit and the path, right after checkout', async () => {
    const r = await runRunner({ config: { packerTemplate: 'packer/missing.pkr.hcl' } });
    expectFailedRun(r, ['cloning'], new RegExp(`Packer template 'packer/missing\\.pkr\\.hcl' not found in commit ${SHA} of branch 'main'`));
    expect(r.of('packer')).toEqual([]);
  });

  it.concurrent('missing, on a machine without the AMI: fails before installing QEMU or Packer', async () => {
    const r = await runRunner({ bare: true, config: { packerTemplate: 'packer/missing.pkr.hcl' } });
    expectFailedRun(r, ['cloning'], /Packer template 'packer\/missing\.pkr\.hcl' not found in commit/);
    expect(aptInstalls(r)).toEqual([['git', 'unzip', 'cpu-checker']]);
    expect(r.of('curl').map((c) => c.argv.at(-1))).not.toContainEqual(expect.stringContaining('releases.hashicorp.com'));
    expect(r.of('packer')).toEqual([]);
  });

  it.concurrent.each([['../labapp.pkr.hcl'], ['/etc/passwd'], ['packer/./x.pkr.hcl'], ['-var=x'], ['$(touch pwned)'], [''], [undefined]])(
    'refuses %j before cloning, with one failed event',
    async (packerTemplate) => {
      const r = await runRunner({ config: { packerTemplate } });
      expectFailedRun(r, [], /not a template path inside the checkout: PACKER_TEMPLATE=/);
      expect(r.of('git')).toEqual([]);
      expect(pwned(r)).toEqual([]);
    },
  );
});

describe('runner: early failures are reported, not silent', RUN, () => {
  it.concurrent("waits while apt's lock is held (unattended-upgrades), then installs and builds", async () => {
    const r = await runRunner({ missing: ['git'], aptLock: 3 });
    expect(r.code).toBe(0);
    expect(r.log).toMatch(/apt-get update: waiting for apt's lock/);
    expect(aptInstalls(r)).toEqual([['git']]);
    expect(phases(r)).toEqual(['cloning', 'building', 'uploading', 'completed']);
  });

  it.concurrent('a lock never released: one failed event naming the lock, no build', async () => {
    const r = await runRunner({ missing: ['git'], aptLock: 'forever', aptWait: 2 });
    expectFailedRun(r, [], /apt-get update: could not get apt's lock within 2s: E: Could not get lock \/var\/lib\/apt\/lists\/lock/);
    expect(r.of('git')).toEqual([]);
  });

  it.concurrent("an image without jq, which cannot be installed: still one failed event, in the handler's schema", async () => {
    // The harness parses every event with domain/events.ts's buildPhaseDetail.
    const r = await runRunner({ missing: ['jq', 'git'], aptLock: 'forever', aptWait: 1 });
    expectFailedRun(r, [], /could not get apt's lock/);
    expect(r.events[0]!.eventToken).toBe(EVENT_TOKEN);
    expect(r.log).not.toContain(EVENT_TOKEN);
  });

  it.concurrent('an image without jq: reads build.json without it, installs it, builds', async () => {
    const r = await runRunner({ missing: ['jq'] });
    expect(r.code).toBe(0);
    expect(aptInstalls(r)).toEqual([['jq']]);
    expect(phases(r)).toEqual(['cloning', 'building', 'uploading', 'completed']);
  });
});

describe('runner: a self-test ("selftest": true in build.json)', RUN, () => {
  const token = `ghp_test${'x'.repeat(32)}`;
  const secretArn = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:github-token-AbCdEf';
  const selftestKey = `builds/${BUILD_ID}/selftest/result.json`;
  let r: RunResult;
  beforeAll(async () => {
    // A small type: no KVM device, a small disk; neither is checked.
    r = await runRunner({
      token,
      instanceType: 't3.small',
      kvmDevice: false,
      diskGb: 6,
      fail: ['kvm'],
      config: { branch: 'HEAD', selftest: true, maxLifetimeMinutes: 30, githubSecretArn: secretArn },
    });
  }, RUN.timeout);

  it('sends every phase with the event token and ends completed with the self-test layout, then powers off', () => {
    expect(r.code).toBe(0);
    expect(phases(r)).toEqual(['cloning', 'building', 'uploading', 'completed']);
    expect(r.events.map((e) => e.eventToken)).toEqual([EVENT_TOKEN, EVENT_TOKEN, EVENT_TOKEN, EVENT_TOKEN]);
    const completed = r.events.at(-1)!;
    expect(completed.artifact).toMatchObject({ bucket: BUCKET, key: selftestKey });
    const object = r.s3.get(s3Key(selftestKey))!;
    expect(completed.artifact!.sha256).toBe(createHash('sha256').update(object).digest('hex'));
    expect(completed.artifact!.bytes).toBe(Buffer.byteLength(object));
    expect(completed.logKey).toBe(LOG_KEY);
    expect(r.calls.at(-1)).toMatchObject({ name: 'shutdown', argv: ['-h', 'now'] });
  });

  it('resolves HEAD with git ls-remote (no clone, no packer) and reports it as actualCommit', () => {
    expect(gitCall(r, 'ls-remote')[0]!.argv.slice(-3)).toEqual(['--', 'https://github.com/afewell-hh/labapp.git', 'HEAD']);
    expect(gitCall(r, 'clone')).toEqual([]);
    expect(r.of('packer')).toEqual([]);
    expect(r.events[1]!.actualCommit).toBe(SHA);
    expect(r.events.at(-1)!.actualCommit).toBe(SHA);
  });

  it('skips the free-disk and KVM checks, and reports KVM as information', () => {
    expect(r.of('df')).toEqual([]);
    expect(r.of('kvm-ok')).toEqual([]);
    expect(r.events[0]!.message).toContain('no KVM on t3.small');
  });

  it('reports each check, in order, in `completed` and in the S3 object', () => {
    const checks = r.events.at(-1)!.checks!;
    expect(checks.map((c) => [c.name, c.ok])).toEqual([
      ['kvm', true],
      ['github-token', true],
      ['repository', true],
      ['s3', true],
      ['logs', true],
    ]);
    expect(checks[2]!.detail).toContain(SHA);
    const stored = JSON.parse(r.s3.get(s3Key(selftestKey))!) as { buildId: string; instanceType: string; checks: unknown[] };
    expect(stored).toMatchObject({ buildId: BUILD_ID, instanceType: 't3.small' });
    expect(stored.checks).toHaveLength(3);
  });

  it('reads the GitHub token and hands it to git through GIT_ASKPASS only: never in an event, S3, CloudWatch or the log', () => {
    expect(r.of('aws', 'secretsmanager', 'get-secret-value')).toHaveLength(1);
    expect(existsSync(join(r.dir, 'stub', 'askpass-ok'))).toBe(true);
    expect(JSON.stringify(r.events)).not.toContain(token);
    expect([...r.s3.values()].join('')).not.toContain(token);
    expect(r.cloudwatch.join('\n')).not.toContain(token);
    expect(r.log).not.toContain(token);
  });

  it('writes its log to CloudWatch and to builds/<id>/logs/build.log, as a build does', () => {
    expect(r.cloudwatch.join('\n')).toContain('self-test');
    expect(r.s3.get(s3Key(LOG_KEY))).toContain('check repository: ok');
  });

  it('an unreachable repository is a ✗ check, and the self-test still completes with its report', async () => {
    const bad = await runRunner({ instanceType: 't3.small', kvmDevice: false, fail: ['ls-remote'], config: { branch: 'HEAD', selftest: true } });
    expect(bad.code).toBe(0);
    expect(phases(bad)).toEqual(['cloning', 'building', 'uploading', 'completed']);
    const completed = bad.events.at(-1)!;
    expect(completed.actualCommit).toBeUndefined();
    expect(completed.checks!.find((c) => c.name === 'repository')).toMatchObject({ ok: false, detail: expect.stringContaining('terminal prompts disabled') });
    expect(completed.checks!.find((c) => c.name === 'github-token')).toMatchObject({ ok: true, detail: expect.stringContaining('none configured') });
  });
});
