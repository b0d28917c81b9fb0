import type { Build } from './build';

// docs/design.md "Self-test": a self-test is a record like a build's, told apart by `Kind`.

/** Whether the record is a self-test (`Kind: "selftest"`), not a build. */
export function isSelftest(build: Pick<Build, 'Kind'>): boolean {
  return build.Kind === 'selftest';
}
