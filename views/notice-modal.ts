import type { View } from '../domain/ports';
import { truncate } from './mrkdwn';

// A modal that only says something: the New build dialog's answer in its place, or the answer to
// a click in the Home tab (which has no channel to answer in). Within Slack's title of 24 characters.

const plain = (text: string) => ({ type: 'plain_text', text, emoji: true });

/** A dialog's answer shown in place of the dialog (response_action update, or views.open after a Home click). */
export function noticeModal(title: string, text: string): View {
  return {
    type: 'modal',
    title: plain(truncate(title, 24)),
    close: plain('Close'),
    blocks: [{ type: 'section', text: { type: 'mrkdwn', text: truncate(text, 3000) } }],
  };
}
