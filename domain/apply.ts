import type { Build } from './build';
import type { BuildStore } from './ports';
import type { BuildEvent, Decision } from './transition';
import { transition } from './transition';

// Read → decide → conditional write, and on a lost race decide again on what is stored now.
// Only ports are used here; the decision itself is domain/transition.

export type Applied =
  | { outcome: 'changed'; before: Build; build: Build; decision: Extract<Decision, { kind: 'write' }> }
  | { outcome: 'effects'; build: Build; decision: Extract<Decision, { kind: 'effects' }> }
  | { outcome: 'unchanged'; build: Build; reason: string }
  | { outcome: 'missing' };

const MAX_ATTEMPTS = 4;

export async function applyEvent(store: BuildStore, start: string | Build, event: BuildEvent, now: Date): Promise<Applied> {
  let build = typeof start === 'string' ? await store.get(start) : start;
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    if (!build) return { outcome: 'missing' };
    const decision = transition(build, event, now);
    if (decision.kind === 'none') return { outcome: 'unchanged', build, reason: decision.reason };
    if (decision.kind === 'effects') return { outcome: 'effects', build, decision };
    const result = await store.update(build.BuildID, decision.guard, decision.set);
    if (result.ok) return { outcome: 'changed', before: build, build: result.build, decision };
    build = result.current ?? (await store.get(build.BuildID));
  }
  // Four lost races in a row means something else keeps writing; let the caller retry later.
  throw new Error(`gave up applying ${event.type} to ${typeof start === 'string' ? start : start.BuildID} after ${MAX_ATTEMPTS} conflicts`);
}
