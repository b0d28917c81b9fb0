import { describe, expect, it } from 'vitest';
import type { EventDeps } from '../../events/deps';
import { eventEntry } from '../../events/entry';
import { PermanentFailure, RedeliverLater } from '../../events/delivery-errors';
import { BOT_SOURCE, DETAIL_TYPES, buildApprovedDetail } from '../../domain/events';
import { anApprovedBuild, at } from '../../stand-ins/build-fixture';
import { memoryLogger } from '../../stand-ins/memory-logger';
import { buildApproved } from '../support/event-fixtures';

// events/entry.ts, the one shape of an events handler: parse, find the build or drop with a log
// line, run, and the two kinds of failure applied the same way. Every line carries the handler,
// the Lambda request id and the BuildID.

const build = anApprovedBuild();

function world(outcome: 'ok' | 'permanent' | 'later' | 'transient') {
  const log = memoryLogger();
  const ran: string[] = [];
  const deps = { log, store: { get: async (id: string) => (id === build.BuildID ? build : undefined) } } as unknown as EventDeps;
  const entry = eventEntry({
    name: 'probe',
    source: BOT_SOURCE,
    detailType: DETAIL_TYPES.approved,
    schema: buildApprovedDetail,
    async handle({ build: found, log: blog }) {
      ran.push(found.BuildID);
      blog.info('handled');
      if (outcome === 'permanent') throw new PermanentFailure('the table has no row for this');
      if (outcome === 'later') throw new RedeliverLater('too early');
      if (outcome === 'transient') throw Object.assign(new Error('throttled'), { name: 'ThrottlingException' });
    },
  });
  return { log, ran, run: (event: unknown) => entry.createHandler(deps)(event, { awsRequestId: 'req-1' }) };
}

describe('the events handlers’ entry', () => {
  it('runs the story with the build, and every line has the handler, the request id and the BuildID', async () => {
    const w = world('ok');
    await w.run(buildApproved(build.BuildID, at(1)));
    expect(w.ran).toEqual([build.BuildID]);
    expect(w.log.lines).toEqual([expect.objectContaining({ message: 'handled', handler: 'probe', requestId: 'req-1', buildId: build.BuildID })]);
  });

  it('drops an unknown build and a malformed event with one line each, running nothing', async () => {
    const w = world('ok');
    await w.run(buildApproved('build-20261125-170052-zzzz', at(1)));
    await w.run({ source: BOT_SOURCE, 'detail-type': DETAIL_TYPES.approved, detail: { buildId: 42 } });
    expect(w.ran).toEqual([]);
    expect(w.log.lines.map((l) => [l.level, l.message, l.requestId])).toEqual([
      ['WARN', 'no such build; event dropped', 'req-1'],
      ['WARN', 'dropped a malformed event', 'req-1'],
    ]);
  });

  it('a permanent failure is logged with the BuildID and dropped; a later or transient one throws for EventBridge to redeliver', async () => {
    const permanent = world('permanent');
    await expect(permanent.run(buildApproved(build.BuildID, at(1)))).resolves.toBeUndefined();
    expect(permanent.log.lines.at(-1)).toMatchObject({ level: 'ERROR', message: 'dropped: nothing a redelivery could change', buildId: build.BuildID });
    await expect(world('later').run(buildApproved(build.BuildID, at(1)))).rejects.toThrow('too early');
    await expect(world('transient').run(buildApproved(build.BuildID, at(1)))).rejects.toThrow('throttled');
  });
});
