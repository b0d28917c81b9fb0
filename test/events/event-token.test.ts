import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../domain/config';
import { eventTokenFor, eventTokenKeyOf, eventTokenMatches, hashEventToken } from '../../events/event-token';

const KEY = 'test-key-0123456789abcdef0123456789';
const ID = 'build-20261125-170052-a1b2';

describe('event tokens', () => {
  it('are hex HMAC-SHA-256 of the BuildID under the key: stable, and different per build and per key', () => {
    expect(eventTokenFor(KEY, ID)).toBe(createHmac('sha256', KEY).update(ID).digest('hex'));
    expect(eventTokenFor(KEY, ID)).toBe(eventTokenFor(KEY, ID));
    expect(eventTokenFor(KEY, 'build-20261125-170052-zzzz')).not.toBe(eventTokenFor(KEY, ID));
    expect(eventTokenFor(`${KEY}x`, ID)).not.toBe(eventTokenFor(KEY, ID));
    expect(hashEventToken('abc')).toBe(createHash('sha256').update('abc').digest('hex'));
  });

  it("match against the record's hash when there is one, else against the key", () => {
    const token = eventTokenFor(KEY, ID);
    expect(eventTokenMatches(token, { key: KEY, buildId: ID })).toBe(true);
    expect(eventTokenMatches(token, { key: KEY, buildId: ID, build: {} })).toBe(true);
    expect(eventTokenMatches(token, { key: KEY, buildId: 'build-20261125-170052-zzzz' })).toBe(false);
    expect(eventTokenMatches('', { key: KEY, buildId: ID })).toBe(false);
    expect(eventTokenMatches('other', { key: KEY, buildId: ID, build: { EventTokenHash: hashEventToken('other') } })).toBe(true);
    expect(eventTokenMatches(token, { key: KEY, buildId: ID, build: { EventTokenHash: hashEventToken('other') } })).toBe(false);
  });

  it('take the key from the loaded secret, else EVENT_TOKEN_KEY, else refuse naming the variable', () => {
    const config = parseConfig({ SLACK_SIGNING_SECRET: 's', SLACK_BOT_TOKEN: 'xoxb-t' });
    expect(eventTokenKeyOf({ config, eventTokenKey: 'loaded' })).toBe('loaded');
    expect(eventTokenKeyOf({ config: { ...config, eventTokenKey: 'local' } })).toBe('local');
    expect(() => eventTokenKeyOf({ config })).toThrow(/EVENT_TOKEN_SECRET_ARN/);
  });
});
