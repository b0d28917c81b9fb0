// A mistyped setting is refused with the name it most likely meant ("did you mean …?"), so the fix
// is in the message. Case is ignored: `approverIDs` is one edit from nothing, not two.

/** Levenshtein distance: insertions, deletions and substitutions, each one edit. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min(previous[j]! + 1, current[j - 1]! + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length]!;
}

/**
 * The candidate closest to `word`, when it is close enough to be a typo of it: at most a third of
 * the word's length in edits (at least 1), so `volume` finds `volumeSize` but `colour` finds nothing.
 */
export function nearestName(word: string, candidates: readonly string[]): string | undefined {
  const limit = Math.max(1, Math.floor(word.length / 3));
  let best: { name: string; distance: number } | undefined;
  for (const name of candidates) {
    const lower = word.toLowerCase();
    const candidate = name.toLowerCase();
    // A prefix is a setting cut short (`volume` for `volumeSize`): as good as one edit.
    const distance = candidate.startsWith(lower) && lower.length >= 4 ? 1 : editDistance(lower, candidate);
    if (distance <= limit && (best === undefined || distance < best.distance)) best = { name, distance };
  }
  return best?.name;
}
