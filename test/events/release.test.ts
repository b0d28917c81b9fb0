import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { artifactKey } from '../../domain/artifact-layout';
import type { Build } from '../../domain/build';
import { createHandler as createBuildPhaseHandler } from '../../events/build-phase';
import { hashEventToken } from '../../events/event-token';
import { ReleaseArrivedEarlyError, createHandler } from '../../events/release';
import { COPY_OBJECT_LIMIT, COPY_PART_BYTES, S3Artifacts, partRanges } from '../../adapters/aws/s3-artifacts';
import { INSTANCE_ID, aLaunchedBuild, at } from '../../stand-ins/build-fixture';
import { buildPhase, eventTokenOf } from '../support/event-fixtures';
import { logLines, useWorld } from '../support/events-world';

// The release function through its real handler: dynalite for the table (the #release# lock),
// the Slack stand-in, and the REAL S3 adapter against s3rver, a local S3 that keeps the bytes.
// Each case checks what is left: the table, the bucket and the Slack calls.

const BUCKET = 'hedgehog-lab-artifacts';
const REGION = 'us-east-1';
/** s3rver checks each request's SigV4 signature against its built-in key pair. */
const CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

interface S3rverInstance {
  run(): Promise<{ address: string; port: number }>;
  close(): Promise<void>;
  httpServer: Server;
}
// s3rver ships no types; it is CommonJS.
const S3rver = createRequire(import.meta.url)('s3rver') as new (options: Record<string, unknown>) => S3rverInstance;

const FIRST = 'build-20261125-170052-a1b2';
const SECOND = 'build-20261125-180052-c3d4';
const VERSION = '1.2.3';

/** A vX.Y.Z build as build-phase leaves it after its `completed` phase. */
/** The OVA packer/runner.sh uploads for a build: distinct bytes per build, and their figures as its `completed` phase reports them. */
function ovaOf(buildId: string, version = VERSION): { body: string; bytes: number; sha256: string } {
  const body = `${artifactKey(buildId, version)}: bytes of ${buildId}\n`.repeat(200);
  return { body, bytes: Buffer.byteLength(body), sha256: createHash('sha256').update(body).digest('hex') };
}

function aCompletedRelease(buildId: string, overrides: Partial<Build> = {}): Build {
  return aLaunchedBuild('uploading', {
    BuildID: buildId,
    BuildBranch: `v${VERSION}`,
    BuildCommit: undefined,
    Status: 'completed',
    Phase: 'completed',
    ActualCommit: '0123456789abcdef0123456789abcdef01234567',
    ArtifactKey: artifactKey(buildId, VERSION),
    ArtifactSha256: ovaOf(buildId).sha256,
    ArtifactBytes: ovaOf(buildId).bytes,
    CompletionTime: at(90),
    ...overrides,
  });
}

/** The released `.json`: packer/runner.sh's fields, each from the record. */
const metadataOf = (build: Build) => ({
  version: VERSION,
  buildId: build.BuildID,
  branch: build.BuildBranch,
  commit: build.ActualCommit,
  requestedCommit: build.BuildCommit ?? null,
  file: `hedgehog-lab-prewarmed-${VERSION}.ova`,
  sha256: build.ArtifactSha256,
  bytes: build.ArtifactBytes,
  started: build.BuildStartTime ?? null,
  finished: build.CompletionTime,
  instanceType: build.InstanceType ?? null,
});

/** The runner's `completed` phase of that build, with its own event token. */
const completed = (buildId: string, version = VERSION) =>
  buildPhase({
    buildId,
    instanceId: INSTANCE_ID,
    phase: 'completed',
    at: at(90),
    artifact: { bucket: BUCKET, key: artifactKey(buildId, version), sha256: ovaOf(buildId, version).sha256, bytes: ovaOf(buildId, version).bytes },
  });

const files = (buildId: string, version = VERSION) => {
  const ova = artifactKey(buildId, version);
  return [ova, `${ova}.sha256`, ova.replace(/\.ova$/, '.json')];
};

// One s3rver for the file: every case that reaches S3 through the wire uses it.
let s3dir: string;
let s3rver: S3rverInstance;
let s3: S3Client;
let s3Endpoint: string;
/** Requests s3rver answered: method and path, in order. */
const requests: string[] = [];

beforeAll(async () => {
  s3dir = mkdtempSync(join(tmpdir(), 'metal-release-s3-'));
  s3rver = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: s3dir, configureBuckets: [{ name: BUCKET, configs: [] }] });
  const { port } = await s3rver.run();
  s3rver.httpServer.prependListener('request', (req: { method?: string; url?: string }) => requests.push(`${req.method} ${req.url}`));
  s3Endpoint = `http://127.0.0.1:${port}`;
  s3 = s3rverClient();
});
afterAll(async () => {
  s3?.destroy();
  await s3rver?.close();
  if (s3dir) rmSync(s3dir, { recursive: true, force: true });
});

/** A real S3 client pointed at s3rver. */
function s3rverClient(): S3Client {
  return new S3Client({ region: REGION, endpoint: s3Endpoint, forcePathStyle: true, credentials: CREDENTIALS });
}

/** Empties the bucket and forgets the requests so far. */
async function emptyBucket(): Promise<void> {
  for (const key of await keys('')) await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key }));
  requests.length = 0;
}

async function keys(prefix: string): Promise<string[]> {
  const out = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }));
  return (out.Contents ?? []).map((o) => o.Key!).sort();
}

async function read(key: string): Promise<string> {
  const out = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return out.Body!.transformToString();
}

/** What packer/runner.sh uploads under builds/<BuildID>/: the OVA, its `sha256sum` line and the metadata, distinct per build. */
async function upload(buildId: string, version = VERSION, only?: number[]): Promise<void> {
  const all = files(buildId, version);
  const ova = ovaOf(buildId, version);
  const bodies = [ova.body, `${ova.sha256}  ${all[0]!.slice(all[0]!.lastIndexOf('/') + 1)}\n`, `{"buildId":"${buildId}"}\n`];
  for (const [i, key] of all.entries()) {
    if (only && !only.includes(i)) continue;
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: bodies[i] }));
  }
}

describe('release: a completed vX.Y.Z build → releases/vX.Y.Z/', () => {
  const world = useWorld({ minutesAfterT0: 91 });

  beforeEach(async () => {
    // After the world's reset (useWorld's beforeEach runs first): the real S3 adapter on s3rver.
    world().deps = { ...world().deps, artifacts: new S3Artifacts(s3) };
    await emptyBucket();
  });

  const handler = () => createHandler(world().deps);
  const releaseItem = () => world().dynamo.get(`#release#v${VERSION}`);
  const postsTo = () => world().slack.callsTo('chat.postMessage');

  it("publishes the OVA's bytes with the record's checksum and metadata, locks the version and tells the thread once", async () => {
    const build = await world().seed(aCompletedRelease(FIRST));
    await upload(FIRST);
    requests.length = 0;

    await handler()(completed(FIRST));

    const released = [
      `releases/v${VERSION}/hedgehog-lab-prewarmed-${VERSION}.json`,
      `releases/v${VERSION}/hedgehog-lab-prewarmed-${VERSION}.ova`,
      `releases/v${VERSION}/hedgehog-lab-prewarmed-${VERSION}.ova.sha256`,
    ];
    expect(await keys('releases/')).toEqual(released);
    expect(await read(released[1]!)).toBe(await read(artifactKey(FIRST, VERSION)));
    // The checksum and the metadata say what the record says (the machine's files are its word).
    expect(await read(released[2]!)).toBe(`${ovaOf(FIRST).sha256}  hedgehog-lab-prewarmed-${VERSION}.ova\n`);
    expect(JSON.parse(await read(released[0]!))).toEqual(metadataOf(build));
    // The OVA first, the metadata last: a JSON under releases/ means a complete set.
    const copies = requests.filter((r) => r.startsWith('PUT ')).map((r) => r.slice(r.lastIndexOf('/') + 1).replace(/\?.*$/, ''));
    expect(copies).toEqual([`hedgehog-lab-prewarmed-${VERSION}.ova`, `hedgehog-lab-prewarmed-${VERSION}.ova.sha256`, `hedgehog-lab-prewarmed-${VERSION}.json`]);

    expect(await releaseItem()).toMatchObject({
      BuildID: `#release#v${VERSION}`,
      For: FIRST,
      ClaimedAt: world().clock.now().toISOString(),
      PublishedAt: world().clock.now().toISOString(),
    });
    const replies = world().replies(build);
    expect(replies).toHaveLength(1);
    expect(replies[0]!.text).toBe(
      `📦 Released v${VERSION}: \`s3://${BUCKET}/releases/v${VERSION}/hedgehog-lab-prewarmed-${VERSION}.ova\`\n` +
        `Download: \`aws s3 cp "s3://${BUCKET}/releases/v${VERSION}/hedgehog-lab-prewarmed-${VERSION}.ova" .\``,
    );
    // The record itself is not touched.
    expect(await world().get(FIRST)).toEqual(build);
  });

  it('a redelivery publishes nothing more and posts nothing more', async () => {
    const build = await world().seed(aCompletedRelease(FIRST));
    await upload(FIRST);
    await handler()(completed(FIRST));
    const item = await releaseItem();
    const posts = postsTo().length;
    requests.length = 0;
    world().clock.minutesAfterT0(95);

    await handler()(completed(FIRST));

    expect(requests.filter((r) => !r.startsWith('HEAD ') && !r.startsWith('GET '))).toEqual([]);
    expect(await releaseItem()).toEqual(item);
    expect(postsTo()).toHaveLength(posts);
    expect(world().replies(build)).toHaveLength(1);
  });

  it('a redelivery after the thread reply failed posts it, once (the copy is not repeated)', async () => {
    const build = await world().seed(aCompletedRelease(FIRST));
    await upload(FIRST);
    world().slack.failNext('chat.postMessage', 'ratelimited');
    await expect(handler()(completed(FIRST))).rejects.toThrow();
    expect(await releaseItem()).toHaveProperty('PublishedAt');
    expect(world().replies(build)).toHaveLength(0);
    requests.length = 0;

    await handler()(completed(FIRST));
    await handler()(completed(FIRST));
    expect(requests.filter((r) => r.startsWith('PUT '))).toEqual([]);
    expect(
      world()
        .replies(build)
        .map((m) => m.text.slice(0, 20)),
    ).toEqual([`📦 Released v${VERSION}: `.slice(0, 20)]);
  });

  it("a second build of the same version is refused and told once; releases/ keeps the first build's bytes", async () => {
    await world().seed(aCompletedRelease(FIRST));
    await upload(FIRST);
    await handler()(completed(FIRST));
    const firstBytes = await read(`releases/v${VERSION}/hedgehog-lab-prewarmed-${VERSION}.ova`);
    const item = await releaseItem();

    const second = await world().seed(aCompletedRelease(SECOND));
    await upload(SECOND);
    requests.length = 0;
    await handler()(completed(SECOND));
    await handler()(completed(SECOND));

    expect(requests.filter((r) => r.startsWith('PUT '))).toEqual([]);
    expect(await read(`releases/v${VERSION}/hedgehog-lab-prewarmed-${VERSION}.ova`)).toBe(firstBytes);
    expect(await releaseItem()).toEqual(item);
    expect(
      world()
        .replies(second)
        .map((m) => m.text),
    ).toEqual([`⚠️ v${VERSION} was already released by \`${FIRST}\`: this build's OVA stays at \`s3://${BUCKET}/${artifactKey(SECOND, VERSION)}\`.`]);
  });

  it("another build's machine overwrote the files: nothing stays under releases/, the version is given back, thread and operators told once", async () => {
    const build = await world().seed(aCompletedRelease(FIRST));
    // A feature branch's machine writes its own bytes over this build's files (IAM allows builds/*).
    const poisoned = `${artifactKey(FIRST, VERSION)}: the attacker's bytes\n`.repeat(150);
    await upload(FIRST);
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: artifactKey(FIRST, VERSION), Body: poisoned }));

    await handler()(completed(FIRST));
    await handler()(completed(FIRST));

    expect(await keys('releases/')).toEqual([]);
    expect(await releaseItem()).toMatchObject({ For: FIRST, Free: true });
    expect((await releaseItem())?.PublishedAt).toBeUndefined();
    const replies = world().replies(build);
    expect(replies).toHaveLength(1);
    const found = createHash('sha256').update(poisoned).digest('hex');
    expect(replies[0]!.text).toBe(
      `🚫 v${VERSION} was not released: \`s3://${BUCKET}/${artifactKey(FIRST, VERSION)}\` is not the OVA this build reported ` +
        `(${ovaOf(FIRST).bytes} bytes, sha256 \`${ovaOf(FIRST).sha256}\`; found ${Buffer.byteLength(poisoned)} bytes, sha256 \`${found}\`). ` +
        `Another build's machine may have written it. Nothing was left under releases/; rebuild to release v${VERSION}.`,
    );
    expect(
      world()
        .published()
        .map((p) => p.Subject),
    ).toEqual([`[CRITICAL] metal-build ${FIRST}: release v${VERSION} withdrawn (not its OVA)`]);

    // The honest bytes back (a rebuild's, here the same build's): the version is free, and published.
    await upload(FIRST);
    await handler()(completed(FIRST));
    expect(await keys(`releases/v${VERSION}/`)).toHaveLength(3);
    expect(await read(`releases/v${VERSION}/hedgehog-lab-prewarmed-${VERSION}.ova`)).toBe(ovaOf(FIRST).body);
    expect(await read(`releases/v${VERSION}/hedgehog-lab-prewarmed-${VERSION}.ova.sha256`)).toBe(
      `${ovaOf(FIRST).sha256}  hedgehog-lab-prewarmed-${VERSION}.ova\n`,
    );
    expect(await releaseItem()).toMatchObject({ For: FIRST, PublishedAt: world().clock.now().toISOString() });
  });

  it("the metadata file is written from the record, never the machine's: a poisoned .json under builds/ is not published", async () => {
    const build = await world().seed(aCompletedRelease(FIRST, { BuildStartTime: at(30), InstanceType: 'c5n.metal' }));
    await upload(FIRST);
    // Another build's machine (IAM allows builds/*) rewrote this build's metadata.
    const poisoned = { version: VERSION, buildId: SECOND, branch: 'evil', commit: 'f'.repeat(40), sha256: '0'.repeat(64), bytes: 1, file: 'evil.ova' };
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: files(FIRST)[2], Body: JSON.stringify(poisoned) }));

    await handler()(completed(FIRST));

    const released = await read(`releases/v${VERSION}/hedgehog-lab-prewarmed-${VERSION}.json`);
    expect(JSON.parse(released)).toEqual(metadataOf(build));
    expect(JSON.parse(released)).toMatchObject({
      buildId: FIRST,
      branch: `v${VERSION}`,
      started: at(30),
      finished: at(90),
      instanceType: 'c5n.metal',
      sha256: ovaOf(FIRST).sha256,
      bytes: ovaOf(FIRST).bytes,
    });
    expect(released).not.toContain('evil');
    expect(
      world()
        .replies(build)
        .map((m) => m.text.slice(0, 11)),
    ).toEqual(['📦 Released']);
  });

  it("the checksum file is written from the record, never the machine's", async () => {
    await world().seed(aCompletedRelease(FIRST));
    await upload(FIRST);
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${artifactKey(FIRST, VERSION)}.sha256`, Body: `${'0'.repeat(64)}  evil.ova\n` }));

    await handler()(completed(FIRST));
    expect(await read(`releases/v${VERSION}/hedgehog-lab-prewarmed-${VERSION}.ova.sha256`)).toBe(
      `${ovaOf(FIRST).sha256}  hedgehog-lab-prewarmed-${VERSION}.ova\n`,
    );
  });

  it('a branch build (not vX.Y.Z) publishes nothing', async () => {
    const key = artifactKey(FIRST, '0.0.0-0123456');
    const build = await world().seed(aCompletedRelease(FIRST, { BuildBranch: 'main', ArtifactKey: key }));
    await upload(FIRST, '0.0.0-0123456');
    const callsBefore = world().slack.calls.length;

    await handler()(completed(FIRST, '0.0.0-0123456'));

    expect(await keys('releases/')).toEqual([]);
    expect(await world().dynamo.items()).toHaveLength(1);
    expect(world().slack.calls).toHaveLength(callsBefore);
    expect(await world().get(FIRST)).toEqual(build);
  });

  it('a self-test publishes nothing, whatever its branch says (docs/design.md "Self-test")', async () => {
    // A self-test's branch is HEAD; a record saying vX.Y.Z with the release's own layout is the worst case.
    const build = await world().seed(aCompletedRelease(FIRST, { Kind: 'selftest' }));
    await upload(FIRST);
    const callsBefore = world().slack.calls.length;

    await handler()(completed(FIRST));

    expect(await keys('releases/')).toEqual([]);
    expect(await world().dynamo.items()).toHaveLength(1);
    expect(world().slack.calls).toHaveLength(callsBefore);
    expect(await world().get(FIRST)).toEqual(build);
    expect(logLines(world(), 'INFO').some((l) => l.message === 'a self-test; never released')).toBe(true);
  });

  it('an event that arrives before build-phase recorded `completed` throws, and the redelivery after it publishes', async () => {
    const uploading = await world().seed(
      aLaunchedBuild('uploading', {
        BuildID: FIRST,
        BuildBranch: `v${VERSION}`,
        BuildCommit: undefined,
        ActualCommit: '0123456789abcdef0123456789abcdef01234567',
      }),
    );
    await upload(FIRST);
    const callsBefore = world().slack.calls.length;

    await expect(handler()(completed(FIRST))).rejects.toBeInstanceOf(ReleaseArrivedEarlyError);
    expect(await keys('releases/')).toEqual([]);
    expect(await releaseItem()).toBeUndefined();
    expect(world().slack.calls).toHaveLength(callsBefore);

    // build-phase records the phase; EventBridge's next delivery of the same event publishes.
    await createBuildPhaseHandler(world().deps)(completed(FIRST));
    expect((await world().get(FIRST))?.Status).toBe('completed');
    await handler()(completed(FIRST));
    expect(await keys(`releases/v${VERSION}/`)).toHaveLength(3);
    expect(
      world()
        .replies(uploading)
        .filter((m) => m.text.startsWith('📦')),
    ).toHaveLength(1);
  });

  describe('a forged event changes nothing', () => {
    async function expectNothingChanged(run: () => Promise<void>) {
      const items = await world().dynamo.items();
      const calls = world().slack.calls.length;
      requests.length = 0;
      await run();
      expect(await world().dynamo.items()).toEqual(items);
      expect(await keys('releases/')).toEqual([]);
      expect(requests.filter((r) => r.startsWith('PUT ') || r.startsWith('POST '))).toEqual([]);
      expect(world().slack.calls).toHaveLength(calls);
    }

    it("another build's id, of a build that is not in the table", async () => {
      await world().seed(aCompletedRelease(FIRST));
      await upload(FIRST);
      await expectNothingChanged(() => handler()(completed('build-20261125-190052-zzzz')));
      expect(logLines(world(), 'WARN').some((l) => l.message === 'completed phase for an unknown build; dropped')).toBe(true);
    });

    it('a failed build', async () => {
      await world().seed(aCompletedRelease(FIRST, { Status: 'failed', Phase: 'failed', ErrorMessage: 'packer failed' }));
      await upload(FIRST);
      await expectNothingChanged(() => handler()(completed(FIRST)));
    });

    it('a record whose ArtifactKey is not the layout', async () => {
      await world().seed(aCompletedRelease(FIRST, { ArtifactKey: `builds/${SECOND}/hedgehog-lab-prewarmed-${VERSION}.ova` }));
      await upload(FIRST);
      await upload(SECOND);
      await expectNothingChanged(() => handler()(completed(FIRST)));
      expect(logLines(world(), 'ERROR').map((l) => l.message)).toEqual(["the record's ArtifactKey is not the build's layout; nothing released"]);
    });

    it('a phase other than completed, and a malformed event', async () => {
      await world().seed(aCompletedRelease(FIRST));
      await upload(FIRST);
      await expectNothingChanged(async () => {
        await handler()(buildPhase({ buildId: FIRST, instanceId: INSTANCE_ID, phase: 'failed', at: at(90) }));
        await handler()({ ...completed(FIRST), detail: { buildId: FIRST, phase: 'completed' } });
      });
    });

    it("a token that is not the build's: dropped, even while the build still runs (no retry loop for a forger)", async () => {
      const tokenHash = hashEventToken(eventTokenOf(FIRST));
      await world().seed(aCompletedRelease(FIRST, { Status: 'uploading', Phase: 'uploading', EventTokenHash: tokenHash }));
      await upload(FIRST);
      const forged = completed(FIRST);
      (forged.detail as { eventToken: string }).eventToken = 'f'.repeat(64);
      await expectNothingChanged(() => handler()(forged));
      expect(logLines(world(), 'WARN').map((l) => l.message)).toContain("completed phase whose event token is not the build's; dropped");
      // The build's own token still gets the early-arrival retry.
      await expect(handler()(completed(FIRST))).rejects.toThrow(/arrived while the build is uploading/);
    });

    it('never logs the event token', async () => {
      await world().seed(aCompletedRelease(FIRST));
      await upload(FIRST);
      const event = completed(FIRST);
      await handler()(event);
      expect(JSON.stringify(world().log.lines)).not.toContain((event.detail as { eventToken: string }).eventToken);
    });
  });

  it('a missing source file: the thread is told once, nothing is copied or locked', async () => {
    const build = await world().seed(aCompletedRelease(FIRST));
    await upload(FIRST, VERSION, [0, 1]);

    await handler()(completed(FIRST));
    await handler()(completed(FIRST));

    expect(await keys('releases/')).toEqual([]);
    expect(await releaseItem()).toBeUndefined();
    expect(
      world()
        .replies(build)
        .map((m) => m.text),
    ).toEqual([`⚠️ v${VERSION} was not released: \`s3://${BUCKET}/${files(FIRST)[2]}\` is missing.`]);
    expect(logLines(world(), 'ERROR').map((l) => l.message)).toContain('build files missing; nothing released');
  });
});

describe('S3Artifacts: one CopyObject up to 5 GiB, a multipart copy above', () => {
  const from = artifactKey(FIRST, VERSION);
  const to = `releases/v${VERSION}/hedgehog-lab-prewarmed-${VERSION}.ova`;
  const bytes = 12 * 1024 ** 3 + 12345;

  it('up to 5 GiB is one CopyObject', async () => {
    await emptyBucket();
    await upload(FIRST, VERSION, [0]);
    // The real client on s3rver, recording each command it sends (name and input).
    const sent: { command: string; input: unknown }[] = [];
    const recording = s3rverClient();
    recording.middlewareStack.add(
      (next, context) => (args) => {
        sent.push({ command: context.commandName ?? '?', input: { ...(args.input as object) } });
        return next(args);
      },
      { step: 'initialize', name: 'recordCommands' },
    );
    try {
      // The declared size decides the path; the object itself is small.
      await new S3Artifacts(recording).copy({ bucket: BUCKET, from, to, bytes: COPY_OBJECT_LIMIT });
    } finally {
      recording.destroy();
    }
    expect(sent.filter((c) => c.command === 'CopyObjectCommand').map((c) => c.input)).toEqual([{ Bucket: BUCKET, Key: to, CopySource: `${BUCKET}/${from}` }]);
    expect(sent.filter((c) => c.command === 'CreateMultipartUploadCommand')).toHaveLength(0);
    expect(await read(to)).toBe(await read(from));
  });

  describe('above 5 GiB, on a mocked client', () => {
    // Mocked: s3rver does not implement UploadPartCopy, and a > 5 GiB source cannot sensibly be served over loopback.
    const client = new S3Client({ region: REGION, credentials: CREDENTIALS });
    const mocked = mockClient(client);
    const artifacts = new S3Artifacts(client);

    beforeEach(() => {
      mocked.reset();
      // Mocked: the multipart copy's commands, UploadPartCopy above all, which no stand-in answers.
      mocked.on(CreateMultipartUploadCommand).resolves({ UploadId: 'upload-1' });
      mocked
        .on(UploadPartCopyCommand)
        .callsFake((input: { PartNumber: number }) => Promise.resolve({ CopyPartResult: { ETag: `"etag-${input.PartNumber}"` } }));
      mocked.on(CompleteMultipartUploadCommand).resolves({});
      mocked.on(AbortMultipartUploadCommand).resolves({});
    });
    afterAll(() => mocked.restore());

    it('above: 512 MiB part ranges covering the object exactly, the last one shorter, then one Complete with every part in order', async () => {
      await artifacts.copy({ bucket: BUCKET, from, to, bytes });
      const parts = mocked
        .commandCalls(UploadPartCopyCommand)
        .map((c) => c.args[0].input)
        .sort((a, b) => a.PartNumber! - b.PartNumber!);
      expect(parts).toHaveLength(25);
      expect(parts[0]).toMatchObject({
        Bucket: BUCKET,
        Key: to,
        UploadId: 'upload-1',
        PartNumber: 1,
        CopySource: `${BUCKET}/${from}`,
        CopySourceRange: `bytes=0-${COPY_PART_BYTES - 1}`,
      });
      expect(parts.at(-1)!.CopySourceRange).toBe(`bytes=${24 * COPY_PART_BYTES}-${bytes - 1}`);
      // Contiguous, no gap, no overlap, ending at the last byte.
      let next = 0;
      for (const part of parts) {
        const [start, end] = /^bytes=(\d+)-(\d+)$/.exec(part.CopySourceRange!)!.slice(1).map(Number) as [number, number];
        expect(start).toBe(next);
        expect(end - start + 1).toBeLessThanOrEqual(COPY_PART_BYTES);
        next = end + 1;
      }
      expect(next).toBe(bytes);
      expect(mocked.commandCalls(CompleteMultipartUploadCommand).map((c) => c.args[0].input)).toEqual([
        {
          Bucket: BUCKET,
          Key: to,
          UploadId: 'upload-1',
          MultipartUpload: { Parts: parts.map((p) => ({ PartNumber: p.PartNumber, ETag: `"etag-${p.PartNumber}"` })) },
        },
      ]);
      expect(mocked.commandCalls(AbortMultipartUploadCommand)).toHaveLength(0);
      expect(mocked.commandCalls(HeadObjectCommand)).toHaveLength(0);
    });

    it('a failed part aborts the upload and the error is thrown; nothing is completed', async () => {
      const failure = new Error('SlowDown');
      // Mocked: a throttled UploadPartCopy, an operation s3rver does not implement.
      mocked.on(UploadPartCopyCommand, { PartNumber: 3 }).rejects(failure);
      await expect(artifacts.copy({ bucket: BUCKET, from, to, bytes })).rejects.toBe(failure);
      expect(mocked.commandCalls(AbortMultipartUploadCommand).map((c) => c.args[0].input)).toEqual([{ Bucket: BUCKET, Key: to, UploadId: 'upload-1' }]);
      expect(mocked.commandCalls(CompleteMultipartUploadCommand)).toHaveLength(0);
    });
  });

  it('partRanges: exact multiples end on the last byte; one byte is one part', () => {
    expect(partRanges(2 * COPY_PART_BYTES)).toEqual([`bytes=0-${COPY_PART_BYTES - 1}`, `bytes=${COPY_PART_BYTES}-${2 * COPY_PART_BYTES - 1}`]);
    expect(partRanges(1)).toEqual(['bytes=0-0']);
  });
});
