import { vi } from 'vitest';

/**
 * A new Lambda container, as far as our modules go: Vitest forgets its module registry, so the
 * modules `load` imports (`() => import('…')`) are evaluated anew, without the state a container
 * keeps (memoised SDK clients, cached secrets, built dependencies). Modules imported by one `load`
 * share their dependencies, as in one container. Packages are not reloaded: the SDK classes stay
 * the ones the test file imports. What a module imported statically holds is that module's own
 * container, so take every class compared with `instanceof` from the same `load`.
 */
export async function freshContainer<T>(load: () => Promise<T>): Promise<T> {
  vi.resetModules();
  return load();
}
