import type { EventPattern, PatternMatcher } from '../domain/event-rules';

// EventBridge's event-pattern matching, locally (what the TestEventPattern API answers), for the
// sandbox's routing and the tests. Written here: no maintained npm library evaluates EventBridge
// patterns in Node (the one that does it inside, serverless-offline-aws-eventbridge, is a
// Serverless Framework plugin, not a library).
//
// Semantics, after the EventBridge user guide ("Event patterns", "Content filtering"):
// - every field of the pattern must match (AND); fields absent from the pattern are ignored;
// - a field's array lists alternatives (OR): it matches when the event's value, or any element of
//   an array value, matches any of them;
// - a nested object in the pattern matches the event's object at that field, field by field; an
//   event array of objects matches when one of its objects matches the whole nested pattern;
// - exact values are JSON strings, numbers (compared as numbers), booleans and null, matched
//   case-sensitively and only against a value of the same type;
// - `prefix`, `suffix`, `equals-ignore-case`: string values only;
// - `anything-but` (a value, a list of values, `{ prefix }`, `{ suffix }`): the field must have a
//   string or number value that is none of them (an absent field does not match);
// - `exists`: true when the field has a leaf value (an empty array or an object is none), false
//   when it has none (exists works on leaf nodes only, as in EventBridge);
// - `numeric`: one or two comparisons (`=`, `<`, `<=`, `>`, `>=`) on a number value.
//
// Not supported (an InvalidEventPatternError says so): `wildcard`, `cidr`, `$or`, `prefix` and
// `suffix` with `equals-ignore-case`, `anything-but` with `equals-ignore-case` or `wildcard`.
// Not checked: EventBridge's limits on pattern size and on the number of values.

export class InvalidEventPatternError extends Error {
  override readonly name = 'InvalidEventPatternError';
}

type Leaf = string | number | boolean | null;

const NUMERIC_OPERATORS = new Set(['=', '<', '<=', '>', '>=']);

/** Does the event (an envelope as EventBridge delivers it) match the pattern? Throws on a malformed pattern. */
export function matchesEventPattern(pattern: EventPattern, event: unknown): boolean {
  validatePattern(pattern, '');
  return matchObject(pattern, event);
}

/** Throws an InvalidEventPatternError when the pattern is not one EventBridge (and this matcher) accepts. */
export function validateEventPattern(pattern: unknown): asserts pattern is EventPattern {
  validatePattern(pattern, '');
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function matchObject(pattern: EventPattern, value: unknown): boolean {
  if (Array.isArray(value)) return value.some((element) => isPlainObject(element) && matchObject(pattern, element));
  const object = isPlainObject(value) ? value : {};
  return Object.entries(pattern).every(([field, sub]) => (isMatcherList(sub) ? matchField(sub, object[field]) : matchObject(sub, object[field])));
}

function isMatcherList(sub: readonly PatternMatcher[] | EventPattern): sub is readonly PatternMatcher[] {
  return Array.isArray(sub);
}

/** The leaf values at a field: none when absent, an object or an empty array; each element of an array. */
function leavesOf(value: unknown): Leaf[] {
  const items = Array.isArray(value) ? (value as unknown[]) : [value];
  return items.filter((item): item is Leaf => item === null || ['string', 'number', 'boolean'].includes(typeof item));
}

function matchField(matchers: readonly PatternMatcher[], value: unknown): boolean {
  const leaves = value === undefined ? [] : leavesOf(value);
  return matchers.some((matcher) => {
    if (isPlainObject(matcher) && 'exists' in matcher) return matcher.exists === leaves.length > 0;
    return leaves.some((leaf) => matchLeaf(matcher, leaf));
  });
}

function matchLeaf(matcher: PatternMatcher, leaf: Leaf): boolean {
  if (!isPlainObject(matcher)) return leaf === matcher;
  if ('prefix' in matcher) return typeof leaf === 'string' && leaf.startsWith(matcher.prefix);
  if ('suffix' in matcher) return typeof leaf === 'string' && leaf.endsWith(matcher.suffix);
  if ('equals-ignore-case' in matcher) return typeof leaf === 'string' && leaf.toLowerCase() === matcher['equals-ignore-case'].toLowerCase();
  if ('numeric' in matcher) return typeof leaf === 'number' && matchNumeric(matcher.numeric, leaf);
  if ('anything-but' in matcher) {
    if (typeof leaf !== 'string' && typeof leaf !== 'number') return false;
    const but = matcher['anything-but'];
    if (isPlainObject(but)) {
      if ('prefix' in but) return typeof leaf === 'string' && !leaf.startsWith(but.prefix);
      return typeof leaf === 'string' && !leaf.endsWith(but.suffix);
    }
    const excluded: readonly (string | number)[] = Array.isArray(but) ? but : [but as string | number];
    return !excluded.includes(leaf);
  }
  return false;
}

function matchNumeric(comparisons: readonly (string | number)[], leaf: number): boolean {
  for (let i = 0; i < comparisons.length; i += 2) {
    const bound = comparisons[i + 1] as number;
    const ok = { '=': leaf === bound, '<': leaf < bound, '<=': leaf <= bound, '>': leaf > bound, '>=': leaf >= bound }[comparisons[i] as string];
    if (!ok) return false;
  }
  return true;
}

// ---- validation --------------------------------------------------------------------------------

function invalid(path: string, problem: string): never {
  throw new InvalidEventPatternError(`event pattern ${path || '(root)'}: ${problem}`);
}

function validatePattern(pattern: unknown, path: string): void {
  if (!isPlainObject(pattern)) invalid(path, 'must be an object');
  const fields = Object.entries(pattern);
  if (fields.length === 0) invalid(path, 'must have at least one field');
  for (const [field, sub] of fields) {
    const at = path ? `${path}.${field}` : field;
    if (field.startsWith('$')) invalid(at, `${field} is not supported here`);
    if (Array.isArray(sub)) {
      if (sub.length === 0) invalid(at, 'an empty array matches nothing; EventBridge refuses it');
      sub.forEach((matcher: unknown) => validateMatcher(matcher, at));
    } else if (isPlainObject(sub)) validatePattern(sub, at);
    else invalid(at, `must be an array of values or a nested pattern, not ${JSON.stringify(sub)}`);
  }
}

function validateMatcher(matcher: unknown, at: string): void {
  if (matcher === null || ['string', 'number', 'boolean'].includes(typeof matcher)) return;
  if (!isPlainObject(matcher)) invalid(at, `unexpected value ${JSON.stringify(matcher)}`);
  const keys = Object.keys(matcher);
  if (keys.length !== 1) invalid(at, `a filter has exactly one operator: ${JSON.stringify(matcher)}`);
  const [operator] = keys as [string];
  const operand = matcher[operator];
  switch (operator) {
    case 'prefix':
    case 'suffix':
    case 'equals-ignore-case':
      if (typeof operand !== 'string') invalid(at, `${operator} takes a string (with equals-ignore-case: not supported here)`);
      return;
    case 'exists':
      if (typeof operand !== 'boolean') invalid(at, 'exists takes true or false');
      return;
    case 'numeric':
      return validateNumeric(operand, at);
    case 'anything-but':
      return validateAnythingBut(operand, at);
    default:
      invalid(at, `unknown or unsupported operator ${JSON.stringify(operator)}`);
  }
}

function validateNumeric(operand: unknown, at: string): void {
  const ok =
    Array.isArray(operand) &&
    (operand.length === 2 || operand.length === 4) &&
    operand.every((item: unknown, i) => (i % 2 === 0 ? NUMERIC_OPERATORS.has(item as string) : typeof item === 'number' && Number.isFinite(item)));
  if (!ok) invalid(at, `numeric takes one or two [operator, number] pairs: ${JSON.stringify(operand)}`);
}

function validateAnythingBut(operand: unknown, at: string): void {
  const scalar = (v: unknown) => typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v));
  if (scalar(operand)) return;
  if (Array.isArray(operand)) {
    if (operand.length === 0 || !operand.every(scalar)) invalid(at, 'anything-but takes a non-empty list of strings or numbers');
    return;
  }
  if (isPlainObject(operand)) {
    const keys = Object.keys(operand);
    if (keys.length === 1 && (keys[0] === 'prefix' || keys[0] === 'suffix') && typeof operand[keys[0]] === 'string') return;
    invalid(at, `anything-but supports only { prefix } and { suffix } here: ${JSON.stringify(operand)}`);
  }
  invalid(at, `anything-but takes a string, a number, a list of them, { prefix } or { suffix }: ${JSON.stringify(operand)}`);
}
