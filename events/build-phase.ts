import { phaseLayoutProblem } from '../domain/artifact-layout';
import { phaseArrivedEarly } from '../domain/transition';
import type { PhaseReport } from '../domain/events';
import { DETAIL_TYPES, RUNNER_SOURCE, buildPhaseDetail } from '../domain/events';
import { applyStep } from './apply-step';
import { eventTokenKeyOf, eventTokenMatches } from './event-token';
import { eventEntry } from './entry';
import { RedeliverLater } from './delivery-errors';

// `Build Phase` from the on-instance runner. Every build machine shares one instance role, and
// runs whatever the approved branch runs, as root: anything in a phase may be a lie. So a phase
// must first prove its build (the event token from that build's build.json), then its machine
// (the record's InstanceID), then that its keys are the build's own layout; anything else is
// logged with the BuildID and dropped, before anything is written or told. Its times are
// information only (domain/transition.ts uses the handler's clock).

export class PhaseArrivedEarlyError extends RedeliverLater {
  constructor(
    readonly buildId: string,
    readonly phase: string,
    readonly status: string,
  ) {
    super(`phase ${phase} of ${buildId} arrived while the build is ${status}; retry later`);
    this.name = 'PhaseArrivedEarlyError';
  }
}

export const { createHandler, handler } = eventEntry({
  name: 'build-phase',
  source: RUNNER_SOURCE,
  detailType: DETAIL_TYPES.phase,
  schema: buildPhaseDetail,
  missing: (log, detail) => log.warn('phase for an unknown build; dropped', { instanceId: detail.instanceId, phase: detail.phase }),
  async handle({ deps, build, detail: inbound, log: blog }) {
    // A function without the key must fail loudly, not drop every phase.
    const key = eventTokenKeyOf(deps);
    // The token goes no further than this check: nothing below can log or store it.
    const { eventToken, ...reported } = inbound;
    // The runner's clock format may differ (no milliseconds); the table keeps toISOString().
    const detail: PhaseReport = { ...reported, at: new Date(reported.at).toISOString() };
    const facts = { instanceId: detail.instanceId, phase: detail.phase };
    if (!eventTokenMatches(eventToken, { key, buildId: detail.buildId, build })) {
      blog.warn("phase whose event token is not the build's; dropped", facts);
      return;
    }
    const layout = phaseLayoutProblem(build, detail, deps.config.artifactBucket);
    if (layout) {
      blog.warn("phase whose keys are not the build's layout; dropped", { ...facts, problem: layout });
      return;
    }
    if (phaseArrivedEarly(build, detail)) {
      // Thrown, not dropped: EventBridge retries with backoff, by when the earlier events landed.
      blog.warn('phase arrived before the earlier ones; EventBridge will deliver it again', { ...facts, status: build.Status });
      throw new PhaseArrivedEarlyError(detail.buildId, detail.phase, build.Status);
    }
    if (build.InstanceID !== detail.instanceId) {
      blog.warn("phase from an instance that is not the build's; dropped", { ...facts, expectedInstanceId: build.InstanceID });
      return;
    }
    const { applied } = await applyStep(deps, build, { type: 'phase', detail }, { sns: true }, blog);
    if (applied.outcome === 'changed') blog.info('phase recorded', { phase: detail.phase, status: applied.build.Status });
  },
});
