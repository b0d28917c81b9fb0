import type { View } from '../domain/ports';
import { formatUsd } from '../domain/cost';
import { formatHours, truncate } from './mrkdwn';

// The New build dialog (docs/user-guide.md "The New build dialog"): `/metal-build new` and Home's
// New build button open it with views.open. Its fields are the command's words: `branch`,
// `commit`, `type`, `hours` (block_id = action_id = that word); the channel the card goes to
// travels in `private_metadata`, which Slack hands back on submission.

export const NEW_BUILD_CALLBACK_ID = 'new_build';
export const NEW_BUILD_FIELDS = ['branch', 'commit', 'type', 'hours'] as const;
export type NewBuildField = (typeof NEW_BUILD_FIELDS)[number];

/** One instance type as the select offers it. */
export interface TypeOffer {
  type: string;
  /** USD per hour; undefined when no price is known (parseConfig refuses that, so never in practice). */
  hourly?: number;
  /** The median of its recent builds, in hours; undefined without enough history. */
  medianHours?: number;
}

export interface NewBuildModalInput {
  /** Where the card is posted: the command's channel, or Home's channel. */
  channel: string;
  types: readonly TypeOffer[];
  defaultType: string;
  /** MAX_LIFETIME_HOURS: the default limit; whole hours below it may be chosen. */
  maxLifetimeHours: number;
}

/** What the dialog carries from opening to submission. */
export interface NewBuildMetadata {
  channel: string;
}

/** Slack's limits a view must meet (stand-ins/slack-api.ts checks them). */
const OPTION_TEXT_MAX = 75;
const OPTIONS_MAX = 100;

const plain = (text: string) => ({ type: 'plain_text', text, emoji: true });

const typeOption = (offer: TypeOffer) => {
  const price = offer.hourly !== undefined ? `${formatUsd(offer.hourly)}/h` : 'price unknown';
  const median = offer.medianHours !== undefined ? ` · builds in ~${formatHours(Math.round(offer.medianHours * 10) / 10)}` : '';
  return { text: plain(truncate(`${offer.type} — ${price}${median}`, OPTION_TEXT_MAX)), value: offer.type };
};

/** Whole hours 1.. below the limit, and the limit itself (which may be a fraction). */
export function hourChoices(maxLifetimeHours: number): number[] {
  const whole = Array.from({ length: Math.min(Math.floor(maxLifetimeHours), OPTIONS_MAX - 1) }, (_, i) => i + 1);
  return [...new Set([...whole, maxLifetimeHours])];
}

const hoursOption = (hours: number, max: number) => ({
  text: plain(hours === max ? `${formatHours(hours)} (the default limit)` : formatHours(hours)),
  value: String(hours),
});

export function newBuildModal(input: NewBuildModalInput): View {
  const types = input.types.slice(0, OPTIONS_MAX).map(typeOption);
  const defaultType = types.find((o) => o.value === input.defaultType) ?? types[0];
  const hours = hourChoices(input.maxLifetimeHours).map((h) => hoursOption(h, input.maxLifetimeHours));
  const metadata: NewBuildMetadata = { channel: input.channel };
  return {
    type: 'modal',
    callback_id: NEW_BUILD_CALLBACK_ID,
    private_metadata: JSON.stringify(metadata),
    title: plain('New build'),
    submit: plain('Request'),
    close: plain('Cancel'),
    blocks: [
      // A channel ID of ours, never typed text: the mention is safe.
      {
        type: 'section',
        block_id: 'where',
        text: { type: 'mrkdwn', text: `The request card is posted in <#${input.channel}>, where an approver approves it.` },
      },
      {
        type: 'input',
        block_id: 'branch',
        label: plain('Branch'),
        element: { type: 'plain_text_input', action_id: 'branch', placeholder: plain('main'), max_length: 200 },
      },
      {
        type: 'input',
        block_id: 'commit',
        optional: true,
        label: plain('Commit'),
        hint: plain('7 to 40 hexadecimal characters; empty builds the branch as it is at launch.'),
        element: { type: 'plain_text_input', action_id: 'commit', placeholder: plain('abc1234'), max_length: 40 },
      },
      {
        type: 'input',
        block_id: 'type',
        label: plain('Machine'),
        element: { type: 'static_select', action_id: 'type', options: types, ...(defaultType ? { initial_option: defaultType } : {}) },
      },
      {
        type: 'input',
        block_id: 'hours',
        label: plain('Limit'),
        hint: plain('The machine is ended at its limit unless someone extends it.'),
        element: { type: 'static_select', action_id: 'hours', options: hours, initial_option: hours[hours.length - 1] },
      },
    ],
  };
}
