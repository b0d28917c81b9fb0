import type { Build } from '../domain/build';
import type { Logger } from '../domain/ports';
import { countedEntry } from '../domain/spend';
import type { EventDeps } from './deps';

// A build's final cost joins its month (docs/design.md "Spend control") once EC2 has ended its
// machine: from the instance-state handler on every ending delivery, and from the watchdog for a
// build whose end it recorded itself. The ledger's write is conditional on the build's entry
// being absent, so any number of these calls count it once; a failure throws, and the retry (the
// event's redelivery, the next watchdog run) counts it then.

export async function countFinalCost(deps: Pick<EventDeps, 'ledger'>, build: Build, log: Logger): Promise<void> {
  const counted = countedEntry(build);
  if (!counted) return;
  if (await deps.ledger.count(counted.month, counted.entry)) log.info('final cost counted into the month', { month: counted.month, cost: counted.entry.cost });
}
