import { ChatError } from '../../domain/ports';

/**
 * Slack answers that no retry can fix (the channel or the card is gone, the bot was removed, the
 * message is malformed). A handler that redelivered its event for one of these would only repeat
 * what it already did (the SNS mail, say); they are logged and dropped instead.
 */
const PERMANENT_CHAT_CODES = new Set([
  'channel_not_found',
  'not_in_channel',
  'is_archived',
  'message_not_found',
  'thread_not_found',
  'invalid_blocks',
  'msg_too_long',
  'invalid_arguments',
]);

export function isPermanentChatError(error: unknown): boolean {
  return error instanceof ChatError && PERMANENT_CHAT_CODES.has(error.code);
}

/** Slack's answer when the bot may not post in a channel: invite it there (nothing is retried). */
const NOT_A_MEMBER_CODES = new Set(['not_in_channel', 'channel_not_found']);

export function isNotAMember(error: unknown): error is ChatError {
  return error instanceof ChatError && NOT_A_MEMBER_CODES.has(error.code);
}
