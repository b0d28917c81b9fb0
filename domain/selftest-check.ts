// What a self-test's runner checked on its machine (docs/design.md "Self-test"), reported in its
// last phase and shown in its thread. The names are fixed here; the detail is the machine's word:
// bounded by the schema (domain/events.ts) and made inert where it is shown.

export const SELFTEST_CHECK_NAMES = ['kvm', 'github-token', 'repository', 's3', 'logs'] as const;
export type SelftestCheckName = (typeof SELFTEST_CHECK_NAMES)[number];

/** The longest detail a check may carry. */
export const SELFTEST_CHECK_DETAIL_MAX = 300;

export interface SelftestCheck {
  name: SelftestCheckName;
  ok: boolean;
  detail: string;
}
