import type { Block } from '../domain/ports';

// The buttons of docs/design.md "Messages". The bot's listeners match these action IDs; every
// button's value is the BuildID, so a click names its build without any lookup.

export const ACTION_IDS = {
  approve: 'approve_build',
  deny: 'deny_build',
  cancel: 'cancel_build',
  extend: 'extend_build',
  rebuild: 'rebuild_build',
  /** Reads only: the build's newest log lines, to the clicker alone. */
  showLog: 'show_log',
} as const;

export type ActionId = (typeof ACTION_IDS)[keyof typeof ACTION_IDS];

/** Slack's limits for a confirm dialog; a longer text is refused with invalid_blocks. */
const CONFIRM_TITLE_MAX = 100;
const CONFIRM_TEXT_MAX = 300;
const CONFIRM_BUTTON_MAX = 30;

const plain = (text: string, max: number) => ({ type: 'plain_text', text: text.slice(0, max), emoji: true });

export interface Confirm {
  title: string;
  text: string;
  confirm: string;
  deny: string;
}

export function button(actionId: ActionId, label: string, buildId: string, options: { style?: 'primary' | 'danger'; confirm?: Confirm } = {}): Block {
  const { style, confirm } = options;
  return {
    type: 'button',
    action_id: actionId,
    text: plain(label, 75),
    value: buildId,
    ...(style ? { style } : {}),
    ...(confirm
      ? {
          confirm: {
            title: plain(confirm.title, CONFIRM_TITLE_MAX),
            text: plain(confirm.text, CONFIRM_TEXT_MAX),
            confirm: plain(confirm.confirm, CONFIRM_BUTTON_MAX),
            deny: plain(confirm.deny, CONFIRM_BUTTON_MAX),
            ...(style ? { style } : {}),
          },
        }
      : {}),
  };
}

export function actions(blockId: string, elements: Block[]): Block {
  return { type: 'actions', block_id: blockId, elements };
}

/** Show log, on the running thread messages, the warning and the ends that have a machine. */
export function showLogButton(buildId: string): Block {
  return button(ACTION_IDS.showLog, 'Show log', buildId);
}
