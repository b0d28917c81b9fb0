// BuildID: `build-YYYYMMDD-HHMMSS-xxxx`, UTC, xxxx from [a-z0-9]. A collision is retried by the
// store with a new suffix, so `random` only needs to be fair, not unique.

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
export const BUILD_ID_PATTERN = /^build-\d{8}-\d{6}-[a-z0-9]{4}$/;

export function newBuildId(now: Date, random: () => number): string {
  const iso = now.toISOString(); // 2026-11-25T17:00:52.123Z
  const date = iso.slice(0, 10).replaceAll('-', '');
  const time = iso.slice(11, 19).replaceAll(':', '');
  let suffix = '';
  for (let i = 0; i < 4; i++) suffix += ALPHABET[Math.floor(random() * ALPHABET.length) % ALPHABET.length];
  return `build-${date}-${time}-${suffix}`;
}

export function isBuildId(text: string): boolean {
  return BUILD_ID_PATTERN.test(text);
}
