/**
 * Run `work` for every item, at most `limit` at a time, and wait for all. A run's steps are
 * independent builds and machines (each decided by its own conditional writes), and with Slack
 * at a few hundred milliseconds a call, one after another would not fit the watchdog's minute
 * with hundreds of builds (`npm run bench`, latency model). `work` must not throw: the
 * watchdog's steps catch their own failures.
 */
export async function forEachBounded<T>(items: readonly T[], limit: number, work: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++]!;
      await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}
