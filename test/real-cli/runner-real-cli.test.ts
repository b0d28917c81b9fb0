import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DETAIL_TYPES, RUNNER_SOURCE, buildPhaseDetail, parseEvent, type BuildPhaseDetail } from '../../domain/events';
import { startCloudWatchLogsStandIn, type LocalCloudWatchLogs } from '../../stand-ins/cloudwatch-logs';
import { startEventBridge, type LocalEventBridge } from '../../stand-ins/eventbridge';
import { startSecretsManagerStandIn, type LocalSecretsManager } from '../../stand-ins/secrets-manager';
import { BUCKET, BUILD_ID, BUS, EVENT_TOKEN, INSTANCE_ID, LOG_KEY, removeRuns, runRunner, type RunOptions, type RunResult } from '../packer/runner-harness';

// packer/runner.sh with the real aws CLI (Debian's awscli, 2.9: .ci/checks/runner-real-cli.sh
// installs it) against local stand-ins: s3rver for S3, stand-ins/ for EventBridge, CloudWatch
// Logs and Secrets Manager. Every other host command stays stubbed (test/packer/stub.sh).
// CLI 2.9 reads no AWS_ENDPOINT_URL*, so an `aws` shim first on the runner's PATH adds
// `--endpoint-url` by service. Not part of `npm test` (vitest.config.ts excludes test/real-cli):
// run with `npx vitest run --config vitest.real-cli.config.ts`.

const REGION = 'us-east-1';
/** Above the runner's 100 MB multipart threshold (the file is sparse: zeros after a header line). */
const BIG_OVA = 110 * 1024 * 1024;
// A CLI v2 call is a Python start (about a second, more on a loaded runner): a run takes
// 10-60 s. The timeouts are for hangs (the harness stops a real-CLI run after 5 minutes).
const RUN = { timeout: 660_000 };
/** s3rver's built-in key pair: it checks each request's SigV4 signature against it. */
const CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

interface S3rverInstance {
  run(): Promise<{ address: string; port: number }>;
  close(): Promise<void>;
  httpServer: Server;
}
type S3rverClass = new (options: Record<string, unknown>) => S3rverInstance;
// s3rver ships no types; it is CommonJS.
const S3rver = createRequire(import.meta.url)('s3rver') as S3rverClass;

/** The real CLI: METAL_BUILD_REAL_AWS, else Debian's /usr/bin/aws, else the first `aws` on PATH. */
function realAws(): string {
  const named = process.env.METAL_BUILD_REAL_AWS;
  if (named) return named;
  if (existsSync('/usr/bin/aws')) return '/usr/bin/aws';
  const found = spawnSync('bash', ['-c', 'command -v aws'], { encoding: 'utf8' }).stdout.trim();
  if (!found) throw new Error("no aws CLI: run .ci/checks/runner-real-cli.sh, which installs Debian's awscli");
  return found;
}

/** Writes `<dir>/aws`: the real CLI with `--endpoint-url` chosen by the service word (`aws <service> …`). */
function writeShim(dir: string, aws: string, endpoints: Record<string, string>): void {
  const cases = Object.entries(endpoints)
    .map(([services, url]) => `  ${services}) endpoint=${url} ;;`)
    .join('\n');
  // A service without a stand-in is refused: no call may leave for AWS itself.
  const shim = `#!/bin/bash
# aws CLI 2.9 reads no AWS_ENDPOINT_URL*: point each service at its stand-in.
set -euo pipefail
case "\${1:-}" in
${cases}
  *) echo "aws shim: no stand-in for: $*" >&2 && exit 2 ;;
esac
exec '${aws}' --endpoint-url "$endpoint" "$@"
`;
  writeFileSync(join(dir, 'aws'), shim);
  chmodSync(join(dir, 'aws'), 0o755);
}

let s3rver: S3rverInstance;
let s3Endpoint: string;
/** Each S3 request s3rver got: method and URL (path and query). */
const s3Requests: string[] = [];
let events: LocalEventBridge;
let logs: LocalCloudWatchLogs;
let secrets: LocalSecretsManager;
let secretArn: string;
let shimDir: string;
let s3dir: string;
let s3: S3Client;
let cliVersion: string;
/** Clearly fake, and not in GitHub's token shape (`ghp_…`), so no scanner takes it for a leak. */
const GITHUB_TOKEN = 'test-github-token-real-cli-scenario';

beforeAll(async () => {
  s3dir = mkdtempSync(join(tmpdir(), 'metal-s3rver-'));
  s3rver = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: s3dir, configureBuckets: [{ name: BUCKET, configs: [] }] });
  const { port } = await s3rver.run();
  s3rver.httpServer.prependListener('request', (req: { method?: string; url?: string }) => s3Requests.push(`${req.method} ${req.url}`));
  s3Endpoint = `http://127.0.0.1:${port}`;
  [events, logs, secrets] = await Promise.all([startEventBridge(), startCloudWatchLogsStandIn(), startSecretsManagerStandIn()]);
  secretArn = secrets.setSecret('labapp/github-token', GITHUB_TOKEN);
  shimDir = mkdtempSync(join(tmpdir(), 'metal-aws-shim-'));
  const aws = realAws();
  cliVersion = spawnSync(aws, ['--version'], { encoding: 'utf8' }).stdout.trim();
  console.log(`real CLI: ${aws}: ${cliVersion}`);
  writeShim(shimDir, aws, { 's3 | s3api': s3Endpoint, events: events.endpoint, logs: logs.endpoint, secretsmanager: secrets.endpoint });
  s3 = new S3Client({ region: REGION, endpoint: s3Endpoint, forcePathStyle: true, credentials: CREDENTIALS });
});

afterAll(async () => {
  removeRuns();
  s3?.destroy();
  await Promise.all([s3rver?.close(), events?.close(), logs?.close(), secrets?.close()]);
  for (const dir of [s3dir, shimDir]) if (dir) rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  events.clear();
  secrets.clear();
  s3Requests.length = 0;
});

/** Runs the runner with the shim as `aws`; each run gets its own build ID (objects stay apart). */
async function run(buildId: string, options: RunOptions = {}): Promise<RunResult> {
  return runRunner({
    ...options,
    config: { buildId, logGroup: `/labapp/metal-builds/${buildId}`, githubSecretArn: secretArn, ...options.config },
    token: GITHUB_TOKEN,
    realAws: {
      pathDir: shimDir,
      env: {
        AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
        AWS_REGION: REGION,
        AWS_EC2_METADATA_DISABLED: 'true',
      },
    },
  });
}

/** The phases EventBridge accepted for this build, each parsed as the build-phase handler does. */
function phasesOf(buildId: string): BuildPhaseDetail[] {
  return events.entries
    .filter((e) => (e.detail as { buildId?: string }).buildId === buildId)
    .map((e) => {
      expect(e.eventBusName).toBe(BUS);
      const parsed = parseEvent({ source: e.source, 'detail-type': e.detailType, detail: e.detail }, RUNNER_SOURCE, DETAIL_TYPES.phase, buildPhaseDetail);
      if (!parsed.ok) throw new Error(`the runner put a malformed event: ${parsed.problem}`);
      expect((e.detail as { eventToken?: string }).eventToken).toBe(EVENT_TOKEN);
      return parsed.value.detail;
    });
}

async function getObject(key: string): Promise<Buffer> {
  const out = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  const chunks: Buffer[] = [];
  for await (const chunk of out.Body as Readable) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** The CloudWatch lines of the build's stream: the log's first lines, in order. */
function expectLogInCloudWatch(r: RunResult, buildId: string) {
  const group = logs.groups().find((g) => g.name === `/labapp/metal-builds/${buildId}`);
  expect(group?.retentionInDays).toBe(30);
  const stream = group!.streams.find((s) => s.name === INSTANCE_ID);
  const messages = stream!.events.map((e) => e.message);
  const lines = r.log.split('\n').filter(Boolean);
  expect(messages.length).toBeGreaterThan(5);
  expect(messages).toEqual(lines.slice(0, messages.length));
  return messages;
}

const ID_A = BUILD_ID;
const ID_B = 'build-20260101-120000-bbbb';
const ID_C = 'build-20260101-120000-cccc';
const ID_D = 'build-20260101-120000-dddd';
const ID_S = 'build-20260101-120000-5e1f';

describe('runner.sh with the real aws CLI', () => {
  it('a build uploads the OVA in parts, its checksum, metadata and log, and reports each phase', RUN, async () => {
    const started = Date.now();
    const r = await run(ID_A, { ovaBytes: BIG_OVA });
    console.log(`(a) ${cliVersion}: ${Date.now() - started} ms`);
    expect(r.code, r.log).toBe(0);

    const phases = phasesOf(ID_A);
    expect(phases.map((p) => p.phase)).toEqual(['cloning', 'building', 'uploading', 'completed']);
    // The first phase says whether KVM works and allows nesting (the harness's KVM files: kvm_intel, nested Y).
    expect(phases[0]!.message).toBe('cloning main; KVM works on c5n.metal; nested KVM (kvm_intel) allowed');
    const completed = phases.at(-1)!;
    const version = `0.0.0-${String(completed.actualCommit).slice(0, 7)}`;
    const prefix = `builds/${ID_A}/hedgehog-lab-prewarmed-${version}`;

    const ova = await getObject(`${prefix}.ova`);
    expect(ova.length).toBe(BIG_OVA);
    expect(ova.subarray(0, 9).toString()).toBe('fake OVA ');
    const sha = createHash('sha256').update(ova).digest('hex');
    expect((await getObject(`${prefix}.ova.sha256`)).toString()).toBe(`${sha}  hedgehog-lab-prewarmed-${version}.ova\n`);
    expect(completed.artifact).toEqual({ bucket: BUCKET, key: `${prefix}.ova`, sha256: sha, bytes: BIG_OVA });
    const metadata = JSON.parse((await getObject(`${prefix}.json`)).toString()) as Record<string, unknown>;
    expect(metadata).toMatchObject({ version, buildId: ID_A, branch: 'main', sha256: sha, bytes: BIG_OVA, file: `hedgehog-lab-prewarmed-${version}.ova` });

    // 100 MB threshold and chunks (the runner's AWS config file): two parts for 110 MB.
    const ovaPath = `/${BUCKET}/${prefix}.ova`;
    const ovaRequests = s3Requests.filter((q) => q.split(' ')[1]!.split('?')[0] === ovaPath);
    expect(ovaRequests.filter((q) => q.startsWith('POST') && q.includes('uploads'))).toHaveLength(1);
    expect(ovaRequests.filter((q) => q.startsWith('PUT') && /partNumber=\d/.test(q))).toHaveLength(2);
    expect(ovaRequests.filter((q) => q.startsWith('POST') && q.includes('uploadId='))).toHaveLength(1);
    expect(s3Requests.filter((q) => q.startsWith(`PUT /${BUCKET}/${prefix}.json`) && !q.includes('partNumber'))).toHaveLength(1);

    const log = (await getObject(LOG_KEY.replace(BUILD_ID, ID_A))).toString();
    expect(log).toContain('build completed');
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: LOG_KEY.replace(BUILD_ID, ID_A) }));
    expect(head.ContentType).toBe('text/plain; charset=utf-8');

    expect(secrets.reads).toEqual([{ secretId: secretArn, found: true }]);
    expect(existsSync(join(r.dir, 'stub', 'askpass-ok'))).toBe(true);
    expect(expectLogInCloudWatch(r, ID_A)).toContain(log.split('\n').find((l) => l.endsWith('build completed')));
  });

  it('EventBridge refusing an entry (HTTP 200, FailedEntryCount 1): the runner retries, the phase arrives once', RUN, async () => {
    events.failNext(1, 'InternalFailure');
    const started = Date.now();
    const r = await run(ID_B);
    console.log(`(b) ${Date.now() - started} ms`);
    expect(r.code, r.log).toBe(0);
    expect(phasesOf(ID_B).map((p) => p.phase)).toEqual(['cloning', 'building', 'uploading', 'completed']);
    // The CLI's own output (indented JSON over several lines), as the runner logged it.
    const at = r.log.indexOf('put-events for cloning failed (attempt 1): {\n');
    expect(at, r.log).toBeGreaterThan(0);
    const warning = r.log.slice(at, r.log.indexOf('\n}\n', at) + 2);
    expect(warning).toMatch(/\n {4}"FailedEntryCount": 1,\n/);
    expect(warning).toContain('"ErrorCode": "InternalFailure"');
    expect(r.log).not.toMatch(/put-events for \w+ failed \(attempt 2\)/);
  });

  it('a failing build: one failed phase with the log tail, and the log uploaded', RUN, async () => {
    const started = Date.now();
    const r = await run(ID_C, { fail: ['packer'] });
    console.log(`(c) ${Date.now() - started} ms`);
    expect(r.code).not.toBe(0);
    const phases = phasesOf(ID_C);
    expect(phases.map((p) => p.phase)).toEqual(['cloning', 'building', 'failed']);
    const failed = phases.at(-1)!;
    expect(failed.message).toMatch(/^packer build failed \(exit 1\)/);
    expect(failed.logKey).toBe(`builds/${ID_C}/logs/build.log`);
    expect(failed.logTail).toContain('Timeout waiting for SSH');
    expect(Buffer.byteLength(failed.logTail!, 'utf8')).toBeLessThanOrEqual(4096);
    const log = (await getObject(`builds/${ID_C}/logs/build.log`)).toString();
    expect(log).toContain(`FAILED: ${failed.message}`);
    expect(s3Requests.filter((q) => q.startsWith('PUT') && q.includes('.ova'))).toEqual([]);
    expectLogInCloudWatch(r, ID_C);
  });

  it('a release branch whose release exists in S3 fails before cloning; an unpublished one builds', RUN, async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'releases/v1.2.3/hedgehog-lab-prewarmed-1.2.3.ova', Body: 'published' }));
    const started = Date.now();
    const r = await run(ID_D, { config: { branch: 'v1.2.3' } });
    console.log(`(d) ${Date.now() - started} ms`);
    expect(r.code).not.toBe(0);
    const phases = phasesOf(ID_D);
    expect(phases.map((p) => p.phase)).toEqual(['failed']);
    expect(phases[0]!.message).toMatch(/release v1\.2\.3 already exists/);

    events.clear();
    const fresh = await run('build-20260101-120000-eeee', { config: { branch: 'v1.2.4' } });
    expect(fresh.code, fresh.log).toBe(0);
    const done = phasesOf('build-20260101-120000-eeee').at(-1)!;
    expect(done.phase).toBe('completed');
    expect(done.artifact?.key).toBe('builds/build-20260101-120000-eeee/hedgehog-lab-prewarmed-1.2.4.ova');
  });

  it('a self-test ("selftest": true) on a small type: every phase, its object under selftest/, its log, HEAD resolved', RUN, async () => {
    const started = Date.now();
    const r = await run(ID_S, { instanceType: 't3.small', kvmDevice: false, config: { branch: 'HEAD', selftest: true, maxLifetimeMinutes: 30 } });
    console.log(`(s) ${Date.now() - started} ms`);
    expect(r.code, r.log).toBe(0);
    const phases = phasesOf(ID_S);
    expect(phases.map((p) => p.phase)).toEqual(['cloning', 'building', 'uploading', 'completed']);
    const completed = phases.at(-1)!;
    const key = `builds/${ID_S}/selftest/result.json`;
    const object = await getObject(key);
    expect(completed.artifact).toEqual({ bucket: BUCKET, key, sha256: createHash('sha256').update(object).digest('hex'), bytes: object.length });
    expect(completed.actualCommit).toMatch(/^[0-9a-f]{40}$/);
    expect(completed.checks?.map((c) => [c.name, c.ok])).toEqual([
      ['kvm', true],
      ['github-token', true],
      ['repository', true],
      ['s3', true],
      ['logs', true],
    ]);
    expect(secrets.reads).toEqual([{ secretId: secretArn, found: true }]);
    // No build: nothing else written under the build's prefix but the self-test's object and the log.
    expect(s3Requests.filter((q) => q.startsWith('PUT') && !q.includes('/selftest/') && !q.includes('/logs/'))).toEqual([]);
    const log = (await getObject(`builds/${ID_S}/logs/build.log`)).toString();
    expect(log).toContain('check repository: ok');
    expectLogInCloudWatch(r, ID_S);
  });
});
