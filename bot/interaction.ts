// zod/mini: the classic API costs the cold start ~13 ms more to load (domain/config.ts uses mini too).
import * as z from 'zod/mini';
import { isBuildId } from '../domain/build-id';

// The two payloads Slack sends the bot, parsed once at the edge: a slash command (form fields)
// and a button click (`payload=` JSON). Bolt has already checked the signature.

const nonEmpty = () => z.string().check(z.minLength(1));

const slashCommand = z.object({
  text: z._default(z.string(), ''),
  user_id: nonEmpty(),
  channel_id: nonEmpty(),
  trigger_id: nonEmpty(),
});

export type SlashCommand = { text: string; user: string; channel: string; triggerId: string };

export function parseSlashCommand(body: unknown): SlashCommand | undefined {
  const r = slashCommand.safeParse(body);
  if (!r.success) return undefined;
  return { text: r.data.text, user: r.data.user_id, channel: r.data.channel_id, triggerId: r.data.trigger_id };
}

const blockAction = z.object({
  user: z.object({ id: nonEmpty() }),
  trigger_id: z.optional(z.string()),
  // `view` for a button in the Home tab (or a modal): no channel comes with it.
  container: z.optional(z.object({ type: z.optional(z.string()) })),
  channel: z.optional(z.object({ id: nonEmpty() })),
  // The message whose button was clicked; a thread reply carries its parent's ts.
  message: z.optional(z.object({ ts: z.optional(z.string()), thread_ts: z.optional(z.string()) })),
  actions: z.array(z.object({ action_id: z.string(), value: z.optional(z.string()), action_ts: nonEmpty() })).check(z.minLength(1)),
});

/** A button on a card or a warning: every button's value is the BuildID. */
export interface Click {
  user: string;
  buildId: string;
  /** Where the card is, so the answer appears next to it. */
  channel?: string;
  /** Set when the button was on a thread reply (the warning): the answer goes into that thread. */
  threadTs?: string;
  actionId: string;
  /** Slack's `action_ts` of this click: with the user and the action, what makes a click this click (a replay has the same). */
  actionTs: string;
  /** Set for a click in the Home tab: the modal its answer is shown in is opened with it. */
  homeTrigger?: string;
}

export function parseClick(body: unknown): Click | undefined {
  const r = blockAction.safeParse(body);
  if (!r.success) return undefined;
  const action = r.data.actions[0]!;
  const value = action.value;
  if (value === undefined || !isBuildId(value)) return undefined;
  const { message } = r.data;
  // On the card itself (the thread's parent) thread_ts equals ts, or is absent: answer in the channel.
  const threadTs = message?.thread_ts !== undefined && message.thread_ts !== message.ts ? message.thread_ts : undefined;
  return {
    user: r.data.user.id,
    buildId: value,
    actionId: action.action_id,
    actionTs: action.action_ts,
    ...(r.data.channel ? { channel: r.data.channel.id } : {}),
    ...(threadTs !== undefined ? { threadTs } : {}),
    ...(r.data.container?.type === 'view' && !r.data.channel && r.data.trigger_id ? { homeTrigger: r.data.trigger_id } : {}),
  };
}

const homeButton = z.object({ user: z.object({ id: nonEmpty() }), trigger_id: nonEmpty() });

/** Home's New build and Refresh: who clicked, and the trigger a modal opens with. */
export function parseHomeButton(body: unknown): { user: string; triggerId: string } | undefined {
  const r = homeButton.safeParse(body);
  return r.success ? { user: r.data.user.id, triggerId: r.data.trigger_id } : undefined;
}

const homeOpened = z.object({ type: z.literal('app_home_opened'), user: nonEmpty(), tab: z.optional(z.string()) });

/** app_home_opened: whose Home, and which tab (the Messages tab is not ours to draw). */
export function parseHomeOpened(event: unknown): { user: string; tab?: string } | undefined {
  const r = homeOpened.safeParse(event);
  return r.success ? { user: r.data.user, ...(r.data.tab !== undefined ? { tab: r.data.tab } : {}) } : undefined;
}

// A New build dialog's submission (view_submission, callback_id new_build): the four fields as
// typed or chosen, the channel from private_metadata, the view's id (what makes a second
// submission of the same dialog find the first).

const textValue = z.object({ value: z.optional(z.nullable(z.string())) });
const selectValue = z.object({ selected_option: z.optional(z.nullable(z.object({ value: z.string() }))) });

const viewSubmission = z.object({
  user: z.object({ id: nonEmpty() }),
  view: z.object({
    id: nonEmpty(),
    private_metadata: z.string(),
    state: z.object({
      values: z.object({
        branch: z.object({ branch: textValue }),
        commit: z.optional(z.object({ commit: textValue })),
        type: z.object({ type: selectValue }),
        hours: z.object({ hours: selectValue }),
      }),
    }),
  }),
});

const dialogMetadata = z.object({ channel: nonEmpty() });

export interface DialogSubmission {
  user: string;
  viewId: string;
  channel: string;
  branch: string;
  /** Empty when left out. */
  commit: string;
  type?: string;
  hours?: string;
}

export function parseDialogSubmission(body: unknown): DialogSubmission | undefined {
  const r = viewSubmission.safeParse(body);
  if (!r.success) return undefined;
  let metadata: unknown;
  try {
    metadata = JSON.parse(r.data.view.private_metadata);
  } catch {
    return undefined;
  }
  const m = dialogMetadata.safeParse(metadata);
  if (!m.success) return undefined;
  const v = r.data.view.state.values;
  const type = v.type.type.selected_option?.value;
  const hours = v.hours.hours.selected_option?.value;
  return {
    user: r.data.user.id,
    viewId: r.data.view.id,
    channel: m.data.channel,
    branch: (v.branch.branch.value ?? '').trim(),
    commit: (v.commit?.commit.value ?? '').trim(),
    ...(type !== undefined ? { type } : {}),
    ...(hours !== undefined ? { hours } : {}),
  };
}
