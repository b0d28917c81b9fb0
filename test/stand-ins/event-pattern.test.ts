import { describe, expect, it } from 'vitest';
import type { EventPattern } from '../../domain/event-rules';
import { InvalidEventPatternError, matchesEventPattern, validateEventPattern } from '../../stand-ins/event-pattern';

// The EventBridge pattern matcher the sandbox routes by: each operator with a case that matches
// and one that does not, values in event arrays, nested fields and absent fields.

const event = {
  version: '0',
  id: '6a7e8feb-b491-4cf7-a9f1-bf3703467718',
  'detail-type': 'EC2 Instance State-change Notification',
  source: 'aws.ec2',
  account: '111122223333',
  time: '2017-12-22T18:43:48Z',
  region: 'us-west-1',
  resources: ['arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0'],
  detail: {
    'instance-id': 'i-1234567890abcdef0',
    state: 'terminated',
    count: 5,
    ratio: 0.5,
    flag: true,
    nothing: null,
    tags: ['blue', 'green'],
    sizes: [1, 10],
    empty: [],
    nested: { deeper: { name: 'prod-db' } },
    items: [
      { name: 'a', size: 1 },
      { name: 'b', size: 2 },
    ],
  },
};

const matches = (pattern: EventPattern, e: unknown = event) => matchesEventPattern(pattern, e);

describe('exact values', () => {
  it('matches a string exactly, case-sensitively', () => {
    expect(matches({ source: ['aws.ec2'] })).toBe(true);
    expect(matches({ source: ['AWS.EC2'] })).toBe(false);
    expect(matches({ source: ['aws.ec'] })).toBe(false);
  });

  it('ANDs the fields and ORs the values of a field', () => {
    expect(matches({ source: ['aws.s3', 'aws.ec2'], 'detail-type': ['EC2 Instance State-change Notification'] })).toBe(true);
    expect(matches({ source: ['aws.ec2'], 'detail-type': ['Build Phase'] })).toBe(false);
    expect(matches({ source: ['aws.s3', 'aws.sns'] })).toBe(false);
  });

  it('compares numbers as numbers, and never a number with a string', () => {
    expect(matches({ detail: { count: [5] } })).toBe(true);
    expect(matches({ detail: { count: [5.0] } })).toBe(true);
    expect(matches({ detail: { count: ['5'] } })).toBe(false);
    expect(matches({ detail: { count: [6] } })).toBe(false);
  });

  it('matches booleans and null by type', () => {
    expect(matches({ detail: { flag: [true] } })).toBe(true);
    expect(matches({ detail: { flag: [false] } })).toBe(false);
    expect(matches({ detail: { flag: ['true'] } })).toBe(false);
    expect(matches({ detail: { nothing: [null] } })).toBe(true);
    expect(matches({ detail: { state: [null] } })).toBe(false);
    // null matches a null value, not an absent field
    expect(matches({ detail: { missing: [null] } })).toBe(false);
  });
});

describe('arrays in the event', () => {
  it('matches when any element matches any value', () => {
    expect(matches({ detail: { tags: ['green'] } })).toBe(true);
    expect(matches({ detail: { tags: ['red', 'blue'] } })).toBe(true);
    expect(matches({ detail: { tags: ['red'] } })).toBe(false);
    expect(matches({ resources: [{ prefix: 'arn:aws:ec2:' }] })).toBe(true);
    expect(matches({ resources: [{ prefix: 'arn:aws:s3:' }] })).toBe(false);
  });

  it('an empty array has no values', () => {
    expect(matches({ detail: { empty: ['x'] } })).toBe(false);
    expect(matches({ detail: { empty: [{ exists: true }] } })).toBe(false);
    expect(matches({ detail: { empty: [{ exists: false }] } })).toBe(true);
  });

  it('an array of objects matches when one object matches the whole nested pattern', () => {
    expect(matches({ detail: { items: { name: ['b'], size: [2] } } })).toBe(true);
    // no single item is named a and of size 2
    expect(matches({ detail: { items: { name: ['a'], size: [2] } } })).toBe(false);
  });
});

describe('nested and absent fields', () => {
  it('follows nested objects', () => {
    expect(matches({ detail: { nested: { deeper: { name: ['prod-db'] } } } })).toBe(true);
    expect(matches({ detail: { nested: { deeper: { name: ['test-db'] } } } })).toBe(false);
  });

  it('ignores event fields the pattern does not name', () => {
    expect(matches({ region: ['us-west-1'] })).toBe(true);
  });

  it('an absent field matches no value and no filter but exists: false', () => {
    expect(matches({ detail: { missing: ['x'] } })).toBe(false);
    expect(matches({ detail: { missing: [{ prefix: '' }] } })).toBe(false);
    expect(matches({ detail: { missing: [{ 'anything-but': 'x' }] } })).toBe(false);
    expect(matches({ detail: { missing: [{ numeric: ['>', 0] }] } })).toBe(false);
    expect(matches({ nowhere: { deeper: ['x'] } })).toBe(false);
    expect(matches({ nowhere: { deeper: [{ exists: false }] } })).toBe(true);
  });

  it('a nested pattern does not match a leaf, nor a leaf value an object', () => {
    expect(matches({ source: { name: ['aws.ec2'] } })).toBe(false);
    expect(matches({ detail: { nested: ['prod-db'] } })).toBe(false);
  });

  it('matches nothing that is not an object', () => {
    expect(matches({ source: ['aws.ec2'] }, null)).toBe(false);
    expect(matches({ source: ['aws.ec2'] }, 'aws.ec2')).toBe(false);
  });
});

describe('prefix, suffix, equals-ignore-case', () => {
  it('prefix', () => {
    expect(matches({ time: [{ prefix: '2017-12-22' }] })).toBe(true);
    expect(matches({ time: [{ prefix: '2017-12-23' }] })).toBe(false);
    expect(matches({ detail: { count: [{ prefix: '5' }] } })).toBe(false);
  });

  it('suffix', () => {
    expect(matches({ detail: { 'instance-id': [{ suffix: 'def0' }] } })).toBe(true);
    expect(matches({ detail: { 'instance-id': [{ suffix: 'def1' }] } })).toBe(false);
  });

  it('equals-ignore-case', () => {
    expect(matches({ source: [{ 'equals-ignore-case': 'AWS.EC2' }] })).toBe(true);
    expect(matches({ source: [{ 'equals-ignore-case': 'AWS.S3' }] })).toBe(false);
  });
});

describe('anything-but', () => {
  it('a value', () => {
    expect(matches({ detail: { state: [{ 'anything-but': 'running' }] } })).toBe(true);
    expect(matches({ detail: { state: [{ 'anything-but': 'terminated' }] } })).toBe(false);
    expect(matches({ detail: { count: [{ 'anything-but': 4 }] } })).toBe(true);
    expect(matches({ detail: { count: [{ 'anything-but': 5 }] } })).toBe(false);
  });

  it('a list', () => {
    expect(matches({ detail: { state: [{ 'anything-but': ['pending', 'running'] }] } })).toBe(true);
    expect(matches({ detail: { state: [{ 'anything-but': ['stopped', 'terminated'] }] } })).toBe(false);
  });

  it('a prefix and a suffix', () => {
    expect(matches({ region: [{ 'anything-but': { prefix: 'eu-' } }] })).toBe(true);
    expect(matches({ region: [{ 'anything-but': { prefix: 'us-' } }] })).toBe(false);
    expect(matches({ region: [{ 'anything-but': { suffix: '-2' } }] })).toBe(true);
    expect(matches({ region: [{ 'anything-but': { suffix: '-1' } }] })).toBe(false);
  });

  it('on an array: matches when some element is not excluded', () => {
    expect(matches({ detail: { tags: [{ 'anything-but': 'blue' }] } })).toBe(true);
    expect(matches({ detail: { tags: [{ 'anything-but': ['blue', 'green'] }] } })).toBe(false);
  });

  it('needs a string or number value', () => {
    expect(matches({ detail: { flag: [{ 'anything-but': 'x' }] } })).toBe(false);
    expect(matches({ detail: { nothing: [{ 'anything-but': 'x' }] } })).toBe(false);
  });
});

describe('exists', () => {
  it('true: the field has a value (null counts)', () => {
    expect(matches({ detail: { state: [{ exists: true }] } })).toBe(true);
    expect(matches({ detail: { nothing: [{ exists: true }] } })).toBe(true);
    expect(matches({ detail: { missing: [{ exists: true }] } })).toBe(false);
  });

  it('false: the field is absent', () => {
    expect(matches({ detail: { missing: [{ exists: false }] } })).toBe(true);
    expect(matches({ detail: { state: [{ exists: false }] } })).toBe(false);
  });

  it('works on leaves only: an object is no value', () => {
    expect(matches({ detail: { nested: [{ exists: true }] } })).toBe(false);
    expect(matches({ detail: { nested: [{ exists: false }] } })).toBe(true);
  });
});

describe('numeric', () => {
  it('one comparison', () => {
    expect(matches({ detail: { count: [{ numeric: ['=', 5] }] } })).toBe(true);
    expect(matches({ detail: { count: [{ numeric: ['=', 4] }] } })).toBe(false);
    expect(matches({ detail: { count: [{ numeric: ['>', 4] }] } })).toBe(true);
    expect(matches({ detail: { count: [{ numeric: ['>', 5] }] } })).toBe(false);
    expect(matches({ detail: { count: [{ numeric: ['>=', 5] }] } })).toBe(true);
    expect(matches({ detail: { count: [{ numeric: ['<', 5] }] } })).toBe(false);
    expect(matches({ detail: { count: [{ numeric: ['<=', 5] }] } })).toBe(true);
  });

  it('a range', () => {
    expect(matches({ detail: { ratio: [{ numeric: ['>', 0, '<=', 1] }] } })).toBe(true);
    expect(matches({ detail: { count: [{ numeric: ['>', 0, '<=', 1] }] } })).toBe(false);
  });

  it('any element of an array, and numbers only', () => {
    expect(matches({ detail: { sizes: [{ numeric: ['>', 5] }] } })).toBe(true);
    expect(matches({ detail: { sizes: [{ numeric: ['>', 50] }] } })).toBe(false);
    expect(matches({ detail: { state: [{ numeric: ['>', 0] }] } })).toBe(false);
  });
});

describe('a malformed or unsupported pattern is refused, not silently unmatched', () => {
  it.each([
    ['not an object', []],
    ['empty', {}],
    ['a bare value', { source: 'aws.ec2' }],
    ['an empty list', { source: [] }],
    ['an unknown operator', { source: [{ prefx: 'aws.' }] }],
    ['two operators in one filter', { source: [{ prefix: 'a', suffix: 'b' }] }],
    ['wildcard', { source: [{ wildcard: 'aws.*' }] }],
    ['cidr', { detail: { ip: [{ cidr: '10.0.0.0/24' }] } }],
    ['$or', { $or: [{ source: ['aws.ec2'] }] }],
    ['prefix with equals-ignore-case', { source: [{ prefix: { 'equals-ignore-case': 'AWS' } }] }],
    ['exists with a string', { source: [{ exists: 'true' }] }],
    ['numeric without a number', { detail: { count: [{ numeric: ['>', '5'] }] } }],
    ['numeric with an odd list', { detail: { count: [{ numeric: ['>', 1, '<'] }] } }],
    ['numeric with an unknown operator', { detail: { count: [{ numeric: ['!=', 1] }] } }],
    ['anything-but with an empty list', { source: [{ 'anything-but': [] }] }],
    ['anything-but with wildcard', { source: [{ 'anything-but': { wildcard: '*' } }] }],
  ])('%s', (_, pattern) => {
    expect(() => validateEventPattern(pattern)).toThrow(InvalidEventPatternError);
    expect(() => matchesEventPattern(pattern as EventPattern, event)).toThrow(InvalidEventPatternError);
  });
});
