import { describe, expect, it } from 'vitest';
import { editDistance, nearestName } from '../../domain/nearest-name';
import { slackIdProblem } from '../../domain/slack-id';

describe('nearestName', () => {
  const names = ['approverIds', 'approverGroupIds', 'allowedChannelIds', 'volumeSize', 'maxLifetimeHours'];

  it('counts insertions, deletions and substitutions', () => {
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('abc', 'abc')).toBe(0);
  });

  it('finds the setting a typo meant, ignoring case, and nothing for a word like none', () => {
    expect(nearestName('approverIDs', names)).toBe('approverIds');
    expect(nearestName('aproverIds', names)).toBe('approverIds');
    expect(nearestName('allowedChanelIds', names)).toBe('allowedChannelIds');
    expect(nearestName('volume', names)).toBe('volumeSize');
    expect(nearestName('colour', names)).toBeUndefined();
  });
});

describe('slackIdProblem', () => {
  it.each([
    ['user', 'U0123ABCD'],
    ['user', 'W0123ABCD'],
    ['user group', 'S0123ABCD'],
    ['channel', 'C0123ABCD'],
    ['channel', 'G0123ABCD'],
  ] as const)('accepts a %s ID %s', (kind, id) => {
    expect(slackIdProblem(kind, id)).toBeUndefined();
  });

  it.each([
    ['user', 'S0123ABCD'],
    ['user', 'U0123abcd'],
    ['user', 'U'],
    ['user group', 'C0123ABCD'],
    ['channel', 'U0123ABCD'],
    ['channel', 'C0123-ABCD'],
  ] as const)('refuses as a %s ID %s', (kind, id) => {
    expect(slackIdProblem(kind, id)).toMatch(new RegExp(`is not a Slack ${kind} ID`));
  });
});
