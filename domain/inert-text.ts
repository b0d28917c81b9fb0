// Outside text (what the build machine wrote: its error message and log lines, which untrusted
// code writes) made harmless for a reader whatever carries it. Here, not in views/mrkdwn.ts, because
// the SNS mail needs it as much as Slack does (a mail may be forwarded into Slack), and the mail
// must not depend on the Slack adapter to stay safe.

// A zero-width space after the `@`: Slack (with link_names, or a client that links them)
// reads `@channel` written out as the broadcast, so what a machine wrote must not spell it,
// in a Slack message or in a mail that may end up in one.
const BROADCAST_WORD = /@(channel|here|everyone)\b/gi;

/** `@channel`, `@here` and `@everyone` written out, made plain text. */
export function defuseBroadcasts(text: string): string {
  return text.replace(BROADCAST_WORD, '@\u200b$1');
}

/**
 * Outside text for plain-text channels (the SNS mail), which may be forwarded into Slack: a
 * zero-width space after every `<` keeps `<!channel>`, `<@U…>` and `<http://…|…>` from ever
 * being parsed as Slack markup, without changing what a reader sees. (Slack's own escaping,
 * `&lt;`, would show as such in a mail.)
 */
export function inertPlainText(text: string): string {
  return defuseBroadcasts(text.replace(/</g, '<\u200b'));
}
