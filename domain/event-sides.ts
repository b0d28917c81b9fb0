import type { BuildEvent, Effect } from './status-table';

// Which side applies each event of the status table, and which effects each side can carry out.
// The bot holds no EC2 rights (docs/design.md "Architecture"): it asks for a running build's end
// with `Build Cancel Requested`, and only the events side terminates a machine. A row of a bot
// event that asked for a termination would have no one to do it, so the split is checked against
// every row (test/domain/event-sides.test.ts) and each side's interpreter handles only its own.

export const BOT_EVENT_TYPES = [
  'approve',
  'first-approve',
  'queue',
  'dequeue',
  'deny',
  'cancel',
  'expire',
  'extend',
] as const satisfies readonly BuildEvent['type'][];

/**
 * `expire` is on both sides: the bot's late click and the watchdog's sweep end the same request.
 * `queue` and `dequeue` too: the launch may queue an approved build, and whoever frees a slot hands it on.
 */
export const EVENTS_EVENT_TYPES = [
  'queue',
  'dequeue',
  'launched',
  'launch-failed',
  'instance-state',
  'phase',
  'cancel-requested',
  'force',
  'stuck',
  'expire',
  'warn',
  'scheduled',
  'warning-posted',
  'did-not-shut-down',
  'final-message-posted',
] as const satisfies readonly BuildEvent['type'][];

export type BotEvent = Extract<BuildEvent, { type: (typeof BOT_EVENT_TYPES)[number] }>;
export type EventsEvent = Extract<BuildEvent, { type: (typeof EVENTS_EVENT_TYPES)[number] }>;

export const BOT_EFFECTS = ['release-slot', 'put-cancel-requested', 'leave-queue'] as const satisfies readonly Effect[];
export const EVENTS_EFFECTS = [
  'release-slot',
  'leave-queue',
  'terminate-instance',
  'drop-deadline',
  'count-final-cost',
  'record-completion',
] as const satisfies readonly Effect[];

export type BotEffect = (typeof BOT_EFFECTS)[number];
export type EventsEffect = (typeof EVENTS_EFFECTS)[number];

export type Side = 'bot' | 'events';

/** A row asked a side for an effect it cannot carry out: a mistake in the table, never in the input. */
export class ForeignEffectError extends Error {
  constructor(
    readonly side: Side,
    readonly effect: Effect,
  ) {
    super(`the ${side} side cannot carry out ${effect}`);
    this.name = 'ForeignEffectError';
  }
}

function ownEffects<E extends Effect>(side: Side, own: readonly E[], effects: readonly Effect[]): E[] {
  return effects.map((effect) => {
    if (!(own as readonly Effect[]).includes(effect)) throw new ForeignEffectError(side, effect);
    return effect as E;
  });
}

export function botEffects(effects: readonly Effect[]): BotEffect[] {
  return ownEffects('bot', BOT_EFFECTS, effects);
}

export function eventsEffects(effects: readonly Effect[]): EventsEffect[] {
  return ownEffects('events', EVENTS_EFFECTS, effects);
}
