import { describe, expect, it } from 'vitest';
import { defuseBroadcasts, inertPlainText } from '../../domain/inert-text';

// Outside text in a plain-text channel (the SNS mail) that may be forwarded into Slack: it must
// read the same to a person and be no markup to Slack.

const ZW = '\u200b';

describe('defuseBroadcasts', () => {
  it('breaks every written-out broadcast word, whatever its case, and nothing else', () => {
    expect(defuseBroadcasts('@channel @HERE @Everyone @channels me@here.example @hereafter')).toBe(
      `@${ZW}channel @${ZW}HERE @${ZW}Everyone @channels me@${ZW}here.example @hereafter`,
    );
    expect(defuseBroadcasts('plain text, no broadcast')).toBe('plain text, no broadcast');
  });
});

describe('inertPlainText', () => {
  it('leaves no `<` that Slack could read as a mention, broadcast or labelled link', () => {
    const hostile = 'boom <!channel> <@U0TARGET> <!subteam^S1|devs> <https://evil.example|the fix> @here';
    const inert = inertPlainText(hostile);
    expect(inert).toBe(`boom <${ZW}!channel> <${ZW}@U0TARGET> <${ZW}!subteam^S1|devs> <${ZW}https://evil.example|the fix> @${ZW}here`);
    for (const live of ['<!', '<@', '<https', '@here']) expect(inert, live).not.toContain(live);
  });

  it('changes nothing a reader sees: no entity escaping, backticks and ampersands kept', () => {
    const text = 'a & b > c `code` ```fence```';
    expect(inertPlainText(text)).toBe(text);
    expect(inertPlainText('x < y').replaceAll(ZW, '')).toBe('x < y');
  });
});
