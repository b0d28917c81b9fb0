import type { Build } from './build';
import type { PhaseReport } from './events';

// docs/design.md "Contract additions", Releases: the machine writes only under builds/<BuildID>/,
// a vX.Y.Z ref with version X.Y.Z in the file names. The keys a phase reports are compared with
// the ones computed here from the record, so a machine cannot point the thread, the mail or a
// later publication at any other object, nor smuggle text into the copy-paste command.
// packer/runner.sh computes the same names; test/packer checks that both agree.

export const ARTIFACT_BASENAME = 'hedgehog-lab-prewarmed';

const RELEASE_REF = /^v(\d+\.\d+\.\d+)$/;
const COMMIT = /^[0-9a-f]{7,40}$/;

/** X.Y.Z for a build of the ref vX.Y.Z; undefined for any other branch. */
export function releaseVersion(branch: string): string | undefined {
  return RELEASE_REF.exec(branch)?.[1];
}

/** The version in the file names: X.Y.Z for vX.Y.Z, otherwise 0.0.0-<first 7 of the checked-out commit>. */
export function artifactVersion(branch: string, commit: string | undefined): string | undefined {
  const release = releaseVersion(branch);
  if (release) return release;
  const c = commit?.toLowerCase();
  return c && COMMIT.test(c) ? `0.0.0-${c.slice(0, 7)}` : undefined;
}

export function artifactKey(buildId: string, version: string): string {
  return `builds/${buildId}/${ARTIFACT_BASENAME}-${version}.ova`;
}

export function logKey(buildId: string): string {
  return `builds/${buildId}/logs/build.log`;
}

/** The self-test's one object (docs/design.md "Self-test", "S3 layout"). */
export function selftestKey(buildId: string): string {
  return `builds/${buildId}/selftest/result.json`;
}

/**
 * Why the keys of a phase are not this build's layout, or undefined when they are. The commit
 * of a branch build comes from the phase, else from the record (an earlier phase, or the
 * requested one): the short sha is the one thing in the name the record cannot know alone.
 */
export function phaseLayoutProblem(
  build: Pick<Build, 'BuildID' | 'BuildBranch' | 'BuildCommit' | 'ActualCommit' | 'Kind'>,
  phase: Pick<PhaseReport, 'artifact' | 'logKey' | 'actualCommit'>,
  bucket: string,
): string | undefined {
  if (phase.logKey !== undefined && phase.logKey !== logKey(build.BuildID)) return `logKey is not ${logKey(build.BuildID)}`;
  const artifact = phase.artifact;
  if (!artifact) return undefined;
  if (artifact.bucket !== bucket) return `artifact bucket is not ${bucket}`;
  // The self-test's layout for a self-test only, and only that: the machine is untrusted, so a
  // build cannot end with a self-test's object, nor a self-test with an image a release could take.
  if (build.Kind === 'selftest') return artifact.key === selftestKey(build.BuildID) ? undefined : `artifact key is not ${selftestKey(build.BuildID)}`;
  const version = artifactVersion(build.BuildBranch, phase.actualCommit ?? build.ActualCommit ?? build.BuildCommit);
  if (!version) return 'artifact version unknown: no commit reported for a branch build';
  const expected = artifactKey(build.BuildID, version);
  if (artifact.key !== expected) return `artifact key is not ${expected}`;
  return undefined;
}

/** docs/design.md "S3 layout", Releases: where a vX.Y.Z build is published (X.Y.Z = `version`). */
export function releasePrefix(version: string): string {
  return `releases/v${version}/`;
}

/** One file of a release: its key under the build's folder and under releases/. */
export interface ReleaseFile {
  source: string;
  target: string;
}

/**
 * The three files a release is made of, in the order they are copied: the OVA first, the JSON
 * metadata last (a metadata file marks a complete set, as under builds/).
 */
export function releaseFiles(buildId: string, version: string): ReleaseFile[] {
  const ova = artifactKey(buildId, version);
  const name = (key: string) => key.slice(key.lastIndexOf('/') + 1);
  return [ova, `${ova}.sha256`, ova.replace(/\.ova$/, '.json')].map((source) => ({ source, target: `${releasePrefix(version)}${name(source)}` }));
}
