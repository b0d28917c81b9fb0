import type { Build } from './build';

// The `.json` published beside a release's OVA (docs/design.md "S3 layout", Releases). The one
// under builds/<BuildID>/ is whatever was last written there, and any build's machine may write
// there; so the released one is written from the record, whose figures come from the build's own
// token-checked phases, in the shape packer/runner.sh gives its own (jq's layout, two spaces).

export function releaseMetadata(build: Build, version: string, ovaFileName: string): string {
  const metadata = {
    version,
    buildId: build.BuildID,
    branch: build.BuildBranch,
    commit: build.ActualCommit ?? null,
    requestedCommit: build.BuildCommit ?? null,
    file: ovaFileName,
    sha256: build.ArtifactSha256 ?? null,
    bytes: build.ArtifactBytes ?? null,
    // The handler's clock, as on the record: the machine's own times are information only.
    started: build.BuildStartTime ?? null,
    finished: build.CompletionTime ?? null,
    instanceType: build.InstanceType ?? null,
  };
  return `${JSON.stringify(metadata, null, 2)}\n`;
}
