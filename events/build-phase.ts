import { applyEvent } from '../core/apply';
import { phaseArrivedEarly } from '../core/transition';
import { DETAIL_TYPES, RUNNER_SOURCE, buildPhaseDetail } from '../core/events';
import type { EventDeps } from './deps';
import { loadEventDeps } from './deps';
import { runEffects, tell } from './effects';
import { parseOrDrop } from './inbound';

// `Build Phase` from the on-instance runner. The instance may put events only from its own
// source; what it says is believed only for the machine the record names, so a phase from any
// other instance (a stray machine, a forged event) is logged and dropped.

export class PhaseArrivedEarlyError extends Error {
  constructor(
    readonly buildId: string,
    readonly phase: string,
    readonly status: string,
  ) {
    super(`phase ${phase} of ${buildId} arrived while the build is ${status}; retry later`);
    this.name = 'PhaseArrivedEarlyError';
  }
}

export function createHandler(deps: EventDeps) {
  return async function buildPhase(event: unknown): Promise<void> {
    const log = deps.log.child({ handler: 'build-phase' });
    const inbound = parseOrDrop(event, RUNNER_SOURCE, DETAIL_TYPES.phase, buildPhaseDetail, log);
    if (!inbound) return;
    // The runner's clock format may differ (no milliseconds); the table keeps toISOString().
    const detail = { ...inbound.detail, at: new Date(inbound.detail.at).toISOString() };
    const blog = log.child({ buildId: detail.buildId });
    const build = await deps.store.get(detail.buildId);
    if (!build) {
      blog.warn('phase for an unknown build; dropped', { instanceId: detail.instanceId, phase: detail.phase });
      return;
    }
    if (phaseArrivedEarly(build, detail)) {
      // Thrown, not dropped: EventBridge retries with backoff, by when the earlier events landed.
      blog.warn('phase arrived before the earlier ones; EventBridge will deliver it again', {
        instanceId: detail.instanceId,
        phase: detail.phase,
        status: build.Status,
      });
      throw new PhaseArrivedEarlyError(detail.buildId, detail.phase, build.Status);
    }
    if (build.InstanceID !== detail.instanceId) {
      blog.warn('phase from an instance that is not the build\'s; dropped', {
        instanceId: detail.instanceId,
        expectedInstanceId: build.InstanceID,
        phase: detail.phase,
      });
      return;
    }
    const applied = await applyEvent(deps.store, build, { type: 'phase', detail }, deps.clock.now());
    if (applied.outcome === 'missing') return;
    if (applied.outcome === 'changed') {
      blog.info('phase recorded', { phase: detail.phase, status: applied.build.Status });
      await runEffects(deps, applied.build, applied.decision.effects);
    } else {
      blog.info('phase changes nothing', { phase: detail.phase, status: applied.build.Status, reason: 'reason' in applied ? applied.reason : undefined });
    }
    await tell(deps, applied.build, { sns: true, refresh: applied.outcome === 'changed' }, blog);
  };
}

export async function handler(event: unknown, _context: unknown): Promise<void> {
  await createHandler(await loadEventDeps())(event);
}
