import type { Build } from './build';

// docs/design.md "Self-test": a self-test is a record like a build's, told apart by `Kind`.

/**
 * A self-test's BuildBranch, which a build may never have (domain/command.ts refuses it): the
 * month index projects BuildBranch but not Kind, and a global index's projection cannot change
 * in place on a deployed table, so a counted self-test is known by its branch.
 */
export const SELFTEST_BRANCH = 'HEAD';

/** Whether the record is a self-test (`Kind: "selftest"`), not a build. */
export function isSelftest(build: Pick<Build, 'Kind'>): boolean {
  return build.Kind === 'selftest';
}
