// Every Slack message of metal-build, for one import: the card, the thread replies, the warning.
export type { ViewContext } from './build-facts';
export { ACTION_IDS } from './buttons';
export type { ActionId } from './buttons';
export { buildCard } from './card';
export type { CardContext } from './card';
export { EXTENSION_HOURS, finalCostMessage, threadMessage, warningEndedMessage, warningMessage, SECTION_TEXT_MAX } from './thread';
export type { ThreadMessage } from './thread';
