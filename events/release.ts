import type { ReleaseFile } from '../domain/artifact-layout';
import { artifactKey, releaseFiles, releaseVersion } from '../domain/artifact-layout';
import type { Build } from '../domain/build';
import { isSelftest } from '../domain/build-kind';
import { releaseMetadata } from '../domain/release-metadata';
import { DETAIL_TYPES, RUNNER_SOURCE, buildPhaseDetail } from '../domain/events';
import type { Logger, MessageTag } from '../domain/ports';
import { releaseMissingFilesMessage, releaseRefusedMessage, releaseWithdrawnMessage, releasedMessage } from '../views/release-messages';
import { releaseWithdrawnNotice } from '../views/notifications';
import type { EventDeps } from './deps';
import { eventTokenMatchesRecord } from './event-token';
import { eventEntry } from './entry';
import { RedeliverLater } from './delivery-errors';

// A `completed` Build Phase of a vX.Y.Z build → releases/vX.Y.Z/ (docs/design.md "S3 layout",
// Releases). The machine writes only under builds/<BuildID>/; this function alone may write
// releases/. The event is the machine's word and only says "look at this build": which build,
// whether it completed and where its files are come from the record, which build-phase wrote
// after checking the phase's token, machine and layout. One build ever publishes a version: the
// `#release#vX.Y.Z` item is claimed before anything is copied. Redelivery is safe: the holder
// claiming again continues (or skips) the copy, and the thread reply carries a tag it looks for.

/** The record does not say `completed` yet: build-phase has not recorded the phase this event reports. */
export class ReleaseArrivedEarlyError extends RedeliverLater {
  constructor(
    readonly buildId: string,
    readonly status: string,
    options?: { cause?: unknown },
  ) {
    super(`the completed phase of ${buildId} arrived while the build is ${status}; retry later`);
    if (options?.cause !== undefined) this.cause = options.cause;
    this.name = 'ReleaseArrivedEarlyError';
  }
}

/** Statuses in which build-phase may still record `completed` (a phase that overtook the earlier events). */
const NOT_YET = new Set<string>(['approved', 'launching', 'building', 'uploading']);

const RELEASED = 'released';
const REFUSED = 'release-refused';
const INCOMPLETE = 'release-incomplete';
const WITHDRAWN = 'release-withdrawn';

export const { createHandler, handler } = eventEntry({
  name: 'release',
  source: RUNNER_SOURCE,
  detailType: DETAIL_TYPES.phase,
  schema: buildPhaseDetail,
  ignore: ({ phase }) => (phase === 'completed' ? undefined : { reason: 'not a completed phase; nothing to release', fields: { phase } }),
  missing: (log) => log.warn('completed phase for an unknown build; dropped'),
  // Only the BuildID is used: the token, keys and times in the detail are neither kept nor logged.
  async handle({ deps, build, detail: { buildId, eventToken }, log: blog }) {
    // Another machine naming this build would only make this function wait and retry: its
    // event, not carrying the build's token, is dropped like build-phase drops it.
    if (eventTokenMatchesRecord(eventToken, build) === false) {
      blog.warn("completed phase whose event token is not the build's; dropped");
      return;
    }
    // A self-test proves the loop; what it writes is never a release (docs/design.md "Self-test").
    if (isSelftest(build)) {
      blog.info('a self-test; never released');
      return;
    }
    const version = releaseVersion(build.BuildBranch);
    if (version === undefined) {
      blog.info('not a vX.Y.Z build; nothing to release', { branch: build.BuildBranch });
      return;
    }
    if (NOT_YET.has(build.Status)) {
      // Thrown, not dropped: EventBridge delivers it again, by when build-phase has recorded it.
      blog.warn('completed phase arrived before the record says completed; EventBridge will deliver it again', { status: build.Status });
      throw new ReleaseArrivedEarlyError(buildId, build.Status);
    }
    if (build.Status !== 'completed') {
      blog.warn('completed phase for a build that did not complete; dropped', { status: build.Status });
      return;
    }
    const expected = artifactKey(buildId, version);
    if (build.ArtifactKey !== expected) {
      blog.error("the record's ArtifactKey is not the build's layout; nothing released", { expected, artifactKey: build.ArtifactKey });
      return;
    }
    await publish(deps, build, version, blog);
  },
});

async function publish(deps: EventDeps, build: Build, version: string, log: Logger): Promise<void> {
  const bucket = deps.config.artifactBucket;
  const files = releaseFiles(build.BuildID, version);
  const ova = files[0]!;
  const at = { version, bucket };
  // Before the claim: a build whose files are not all there must not hold the version for good
  // (the item is never deleted), or a rebuild of it could never be released.
  const sizes = await sizesOf(deps, bucket, files);
  const missing = files.filter((_, i) => sizes[i] === undefined);
  if (missing.length > 0) {
    log.error('build files missing; nothing released', { version, missing: missing.map((f) => f.source) });
    await tellOnce(
      deps,
      build,
      INCOMPLETE,
      releaseMissingFilesMessage(
        at,
        missing.map((f) => f.source),
      ),
    );
    return;
  }
  const lock = { kind: 'release', version, buildId: build.BuildID } as const;
  const claim = await deps.claims.claim(lock, deps.clock.now());
  if (!claim.claimed) {
    log.warn('the version is held by another build; nothing released', { version, heldBy: claim.holder, publishedAt: claim.completedAt });
    const holder = { buildId: claim.holder ?? '', published: claim.completedAt !== undefined };
    await tellOnce(deps, build, REFUSED, releaseRefusedMessage(at, holder, ova.source));
    return;
  }
  if (claim.completedAt === undefined) {
    // One at a time, in order: releases/ shows the metadata file only once the rest is there.
    // A redelivery before PublishedAt copies the same bytes again, which changes nothing. Only
    // the OVA is copied (and then read back); the checksum and the metadata are written from the
    // record: what is under builds/ is the word of whichever machine wrote there last.
    for (const [i, file] of files.entries()) {
      if (file.target.endsWith('.sha256')) await deps.artifacts.write(bucket, file.target, `${build.ArtifactSha256}  ${fileName(ova.target)}\n`);
      else if (file.target.endsWith('.json')) await deps.artifacts.write(bucket, file.target, releaseMetadata(build, version, fileName(ova.target)));
      else await deps.artifacts.copy({ bucket, from: file.source, to: file.target, bytes: sizes[i]! });
    }
    // Any build's machine may write under builds/ (IAM cannot tell them apart): what was
    // published must be the bytes this build's own token-checked `completed` phase reported.
    const published = await deps.artifacts.digest(bucket, ova.target);
    if (published?.bytes !== build.ArtifactBytes || published?.sha256 !== build.ArtifactSha256) {
      await withdraw(deps, build, version, files, published, log);
      return;
    }
    await deps.claims.complete(lock, deps.clock.now());
    log.info('released', { version, key: ova.target, bytes: sizes[0] });
  } else {
    log.info('already released by this build; only the thread reply is checked', { version, publishedAt: claim.completedAt });
  }
  await tellOnce(deps, build, RELEASED, releasedMessage(at, ova.target));
}

/**
 * What was published is not this build's OVA: everything written under releases/vX.Y.Z/ is
 * deleted, the version is given back (a rebuild may release it), and the thread and the operators
 * are told which file differed. A redelivery finds the same bytes and withdraws again; the thread
 * reply is tagged and the mail goes with its first post only.
 */
async function withdraw(
  deps: EventDeps,
  build: Build,
  version: string,
  files: readonly ReleaseFile[],
  published: { bytes: number; sha256: string } | undefined,
  log: Logger,
): Promise<void> {
  const bucket = deps.config.artifactBucket;
  const ova = files[0]!;
  const found = published ?? { bytes: 0, sha256: '(missing)' };
  log.error("the published OVA is not this build's bytes; the release is withdrawn", {
    version,
    key: ova.source,
    expectedBytes: build.ArtifactBytes,
    expectedSha256: build.ArtifactSha256,
    foundBytes: found.bytes,
    foundSha256: found.sha256,
  });
  for (const file of files) await deps.artifacts.remove(bucket, file.target);
  await deps.claims.giveBack({ kind: 'release', version, buildId: build.BuildID });
  const mismatch = { version, bucket, key: ova.source, expected: { bytes: build.ArtifactBytes ?? 0, sha256: build.ArtifactSha256 ?? '' }, found };
  if (await tellOnce(deps, build, WITHDRAWN, releaseWithdrawnMessage(mismatch))) await deps.notifier.notify(releaseWithdrawnNotice(build, mismatch));
}

const fileName = (key: string) => key.slice(key.lastIndexOf('/') + 1);

async function sizesOf(deps: EventDeps, bucket: string, files: readonly ReleaseFile[]): Promise<Array<number | undefined>> {
  return Promise.all(files.map((f) => deps.artifacts.size(bucket, f.source)));
}

/**
 * A thread reply posted at most once per build and kind: the tag is looked for first, so a
 * redelivery after a post whose answer was lost does not post again. A Slack failure throws,
 * and the redelivery posts it.
 */
async function tellOnce(deps: EventDeps, build: Build, status: string, text: string): Promise<boolean> {
  const tag: MessageTag = { buildId: build.BuildID, status };
  if (await deps.chat.hasTagged(build.Channel, build.ThreadTs, tag)) return false;
  await deps.chat.post({ channel: build.Channel, threadTs: build.ThreadTs, text, tag });
  return true;
}
