import { afterAll, beforeAll, beforeEach } from 'vitest';

/**
 * A world for the calling test file: started once before its cases, closed after them, reset
 * (then `afterReset`) before each. Call at the top level of the file; the getter answers inside
 * hooks and cases.
 */
export function useWorldOf<W extends { reset(): Promise<void>; close(): Promise<void> }>(start: () => Promise<W>, afterReset?: (world: W) => void): () => W {
  let world: W | undefined;
  const current = () => {
    if (!world) throw new Error('the world starts in beforeAll: read it inside a hook or a case');
    return world;
  };
  beforeAll(async () => {
    world = await start();
  });
  afterAll(async () => {
    await world?.close();
  });
  beforeEach(async () => {
    await current().reset();
    afterReset?.(current());
  });
  return current;
}
