import * as z from 'zod';
import { INSTANCE_STATES, PHASES } from './build';
import { SELFTEST_CHECK_DETAIL_MAX, SELFTEST_CHECK_NAMES } from './selftest-check';

// docs/design.md "Events": the bus contract. Every inbound event is parsed once with these schemas.

export { BOT_SOURCE, DETAIL_TYPES, EC2_SOURCE, RUNNER_SOURCE } from './event-names';

const buildId = z.string().regex(/^build-\d{8}-\d{6}-[a-z0-9]{4}$/, 'not a BuildID');
const isoTime = z.iso.datetime({ offset: true });

export const buildApprovedDetail = z.object({ buildId }).strict();
export type BuildApprovedDetail = z.infer<typeof buildApprovedDetail>;

export const cancelRequestedDetail = z.object({ buildId, by: z.string().min(1) }).strict();
export type CancelRequestedDetail = z.infer<typeof cancelRequestedDetail>;

/** An approver added `hours` to a running build; the events side moves its deadline's schedule. */
export const buildExtendedDetail = z.object({ buildId, by: z.string().min(1), hours: z.number().positive().max(24) }).strict();
export type BuildExtendedDetail = z.infer<typeof buildExtendedDetail>;

export const artifactSchema = z
  .object({
    bucket: z.string().min(1),
    key: z.string().min(1),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    bytes: z.number().int().positive(),
  })
  .strict();

/** One check of a self-test's runner: a fixed name, its outcome and the machine's bounded word on it. */
export const selftestCheckSchema = z
  .object({ name: z.enum(SELFTEST_CHECK_NAMES), ok: z.boolean(), detail: z.string().max(SELFTEST_CHECK_DETAIL_MAX) })
  .strict();

export const buildPhaseDetail = z
  .object({
    buildId,
    instanceId: z.string().regex(/^i-[0-9a-f]{8,17}$/),
    /**
     * The build's event token from build.json: proof that the phase comes from the machine the
     * launch gave it to. Checked by the handler (events/event-token.ts), never stored or shown.
     */
    eventToken: z.string().min(1).max(256),
    phase: z.enum(PHASES),
    at: isoTime,
    message: z.string().max(4000).optional(),
    actualCommit: z
      .string()
      .regex(/^[0-9a-f]{7,40}$/)
      .optional(),
    artifact: artifactSchema.optional(),
    logKey: z.string().min(1).optional(),
    logTail: z.string().optional(),
    durationSeconds: z.number().nonnegative().optional(),
    /** A self-test's checks, in its `completed` or `failed` phase; kept only for a self-test's record. */
    checks: z.array(selftestCheckSchema).max(SELFTEST_CHECK_NAMES.length).optional(),
  })
  .strict();
export type BuildPhaseDetail = z.infer<typeof buildPhaseDetail>;
/** A phase once its token was checked: what the status table decides on, without the credential. */
export type PhaseReport = Omit<BuildPhaseDetail, 'eventToken'>;

export const ec2StateDetail = z.object({
  'instance-id': z.string().min(1),
  state: z.enum(INSTANCE_STATES),
});

/** The EventBridge envelope as a Lambda target receives it. */
export const envelope = z.object({
  id: z.string().optional(),
  source: z.string(),
  'detail-type': z.string(),
  time: isoTime.optional(),
  detail: z.unknown(),
});

export type Parsed<T> = { ok: true; value: T } | { ok: false; problem: string };

/** Parse an envelope: the source and detail-type must be the expected ones, then the detail. */
export function parseEvent<T>(raw: unknown, source: string, detailType: string, detail: z.ZodType<T>): Parsed<{ detail: T; time?: string }> {
  const env = envelope.safeParse(raw);
  if (!env.success) return { ok: false, problem: `malformed envelope: ${z.prettifyError(env.error)}` };
  if (env.data.source !== source) return { ok: false, problem: `unexpected source ${JSON.stringify(env.data.source)}` };
  if (env.data['detail-type'] !== detailType) return { ok: false, problem: `unexpected detail-type ${JSON.stringify(env.data['detail-type'])}` };
  const d = detail.safeParse(env.data.detail);
  if (!d.success) return { ok: false, problem: `malformed detail: ${z.prettifyError(d.error)}` };
  return { ok: true, value: { detail: d.data, time: env.data.time } };
}
