import { existsSync, readFileSync } from 'node:fs';
import { nearestName } from '../domain/nearest-name';
import { RETIRED_KEYS, SETTING_KEYS } from './settings';

// Where the settings come from (docs/design.md "Configuration"): metal-build.config.json, checked
// in, so a deploy repeats the last one; `-c key=value` overrides a key for one deploy (and synth
// says so, since the next deploy without it goes back to the file). cdk.json holds CDK's own keys
// only: a setting left there is refused, so nobody edits a value that is no longer read.

export const SETTINGS_FILE = 'metal-build.config.json';

/** Where the settings of one synth were found. */
export interface SettingsSources {
  /** The settings file's object (see `readSettingsFile`). */
  file: Record<string, unknown>;
  /** cdk.json's `context`, to tell its keys from `-c` ones (the app sees both merged). */
  cdkJsonContext: Record<string, unknown>;
  /** Every context key the app received: cdk.json's, `-c`'s, CDK's own. */
  context: Record<string, unknown>;
}

export interface MergedSettings {
  /** The value of each setting: the file's, or the `-c` override. */
  values: Record<string, unknown>;
  /** Settings given with `-c` for this deploy only, in the order given. */
  overridden: string[];
  problems: string[];
}

/** CDK's own context keys are namespaced (`@aws-cdk/…`, `aws:cdk:…`, lookups `vpc-provider:…`) or one of these. */
const CDK_PLAIN_KEYS = new Set(['cli-telemetry', 'acknowledged-issue-numbers']);

/** Whether a context key is CDK's rather than a setting: such keys pass through unchecked. */
export function isCdkContextKey(key: string): boolean {
  return CDK_PLAIN_KEYS.has(key) || key.startsWith('@') || key.includes(':') || key.includes('/');
}

const KNOWN = new Set([...SETTING_KEYS, ...RETIRED_KEYS]);

function unknownKey(key: string, where: string): string {
  const near = nearestName(key, SETTING_KEYS);
  return near === undefined
    ? `\`${key}\`${where}: unknown setting; the settings are listed in docs/operator-guide.md "Settings"`
    : `\`${key}\`${where}: unknown setting; did you mean \`${near}\`?`;
}

/** The file, `-c` over it, and cdk.json's leftovers refused; every unknown key named with its nearest setting. */
export function mergeSettings(sources: SettingsSources): MergedSettings {
  const problems: string[] = [];
  const values: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(sources.file)) {
    if (KNOWN.has(key)) values[key] = value;
    else problems.push(unknownKey(key, ` in ${SETTINGS_FILE}`));
  }
  for (const key of Object.keys(sources.cdkJsonContext)) {
    if (isCdkContextKey(key)) continue;
    if (KNOWN.has(key)) problems.push(`\`${key}\` in cdk.json: settings are no longer read from cdk.json; move it to ${SETTINGS_FILE}`);
    else problems.push(unknownKey(key, ' in cdk.json'));
  }
  const overridden: string[] = [];
  for (const [key, value] of Object.entries(sources.context)) {
    // cdk.json's keys reach the app as context too: reported above, not again as `-c` ones.
    if (isCdkContextKey(key) || key in sources.cdkJsonContext) continue;
    if (!KNOWN.has(key)) {
      problems.push(unknownKey(key, ' (-c)'));
      continue;
    }
    values[key] = value;
    overridden.push(key);
  }
  return { values, overridden, problems };
}

export type FileRead = { ok: true; value: Record<string, unknown> } | { ok: false; problem: string };

/** A JSON file holding one object: the settings file, or cdk.json (`missing` is what its absence means). */
export function readJsonObject(path: string, name: string, missing: FileRead): FileRead {
  if (!existsSync(path)) return missing;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    return { ok: false, problem: `${name}: not valid JSON (${(error as Error).message})` };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    return { ok: false, problem: `${name}: expected one JSON object of settings, such as {"approverIds": ["U0123ABCD"]}` };
  return { ok: true, value: parsed as Record<string, unknown> };
}

export function readSettingsFile(path: string): FileRead {
  return readJsonObject(path, SETTINGS_FILE, {
    ok: false,
    problem: `${SETTINGS_FILE}: not found at ${path}; create it (an empty {} keeps every default; docs/operator-guide.md "Deploy" shows every key)`,
  });
}

/** cdk.json's `context` object (none: no keys). */
export function readCdkJsonContext(path: string): FileRead {
  const read = readJsonObject(path, 'cdk.json', { ok: true, value: {} });
  if (!read.ok) return read;
  const context = read.value.context ?? {};
  if (typeof context !== 'object' || context === null || Array.isArray(context)) return { ok: false, problem: 'cdk.json: "context" is not an object' };
  return { ok: true, value: context as Record<string, unknown> };
}
