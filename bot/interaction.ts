import { z } from 'zod';
import { isBuildId } from '../core/build-id';

// The two payloads Slack sends the bot, parsed once at the edge: a slash command (form fields)
// and a button click (`payload=` JSON). Bolt has already checked the signature.

const slashCommand = z.object({
  text: z.string().default(''),
  user_id: z.string().min(1),
  channel_id: z.string().min(1),
  trigger_id: z.string().min(1),
});

export type SlashCommand = { text: string; user: string; channel: string; triggerId: string };

export function parseSlashCommand(body: unknown): SlashCommand | undefined {
  const r = slashCommand.safeParse(body);
  if (!r.success) return undefined;
  return { text: r.data.text, user: r.data.user_id, channel: r.data.channel_id, triggerId: r.data.trigger_id };
}

const blockAction = z.object({
  user: z.object({ id: z.string().min(1) }),
  channel: z.object({ id: z.string().min(1) }).optional(),
  actions: z.array(z.object({ action_id: z.string(), value: z.string().optional() })).min(1),
});

/** A button on a card or a warning: every button's value is the BuildID. */
export interface Click {
  user: string;
  buildId: string;
  /** Where the card is, so the answer appears next to it. */
  channel?: string;
}

export function parseClick(body: unknown): Click | undefined {
  const r = blockAction.safeParse(body);
  if (!r.success) return undefined;
  const value = r.data.actions[0]?.value;
  if (value === undefined || !isBuildId(value)) return undefined;
  return { user: r.data.user.id, buildId: value, ...(r.data.channel ? { channel: r.data.channel.id } : {}) };
}
