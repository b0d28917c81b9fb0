import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BusPutError, EventBridgeBus } from '../../../adapters/aws/event-bus';
import { startEventBridge, type LocalEventBridge, type PutEntry } from '../../../stand-ins/eventbridge';
import { freshContainer } from '../../support/fresh-container';

// The bus on the real EventBridgeClient against the loopback stand-in: what goes on the wire is
// what EventBridge would receive.

const BUILD_ID = 'build-20261125-170052-a1b2';

describe('EventBridgeBus', () => {
  let eventBridge: LocalEventBridge;
  let client: EventBridgeClient;
  let bus: EventBridgeBus;

  beforeAll(async () => {
    eventBridge = await startEventBridge();
  });
  afterAll(async () => {
    await eventBridge.close();
  });
  beforeEach(() => {
    eventBridge.clear();
    client = new EventBridgeClient({ endpoint: eventBridge.endpoint, maxAttempts: 1 });
    bus = new EventBridgeBus(client, 'labapp-metal-builds');
  });
  afterEach(() => client.destroy());

  it('puts Build Approved from the bot source on the named bus, detail as JSON', async () => {
    await bus.put({ detailType: 'Build Approved', detail: { buildId: BUILD_ID } });
    expect(eventBridge.entries).toEqual([
      expect.objectContaining({
        source: 'labapp.metal-build',
        detailType: 'Build Approved',
        detail: { buildId: BUILD_ID },
        eventBusName: 'labapp-metal-builds',
      }),
    ]);
  });

  it('puts Build Cancel Requested with who asked', async () => {
    await bus.put({ detailType: 'Build Cancel Requested', detail: { buildId: BUILD_ID, by: 'U0REQUESTER' } });
    expect(eventBridge.entries.map((e) => [e.detailType, e.detail])).toEqual([['Build Cancel Requested', { buildId: BUILD_ID, by: 'U0REQUESTER' }]]);
  });

  it('throws BusPutError with the entry error code when EventBridge refuses the entry', async () => {
    eventBridge.failNext(1, 'ThrottlingException');
    const error = await bus.put({ detailType: 'Build Approved', detail: { buildId: BUILD_ID } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BusPutError);
    expect(error).toMatchObject({
      code: 'ThrottlingException',
      detailType: 'Build Approved',
      cause: { ErrorCode: 'ThrottlingException', ErrorMessage: expect.any(String) },
    });
    expect((error as Error).message).toContain('ThrottlingException');
    expect(eventBridge.entries).toEqual([]);

    // Only the next entry failed: the retry goes through.
    await bus.put({ detailType: 'Build Approved', detail: { buildId: BUILD_ID } });
    expect(eventBridge.entries).toHaveLength(1);
  });

  it('wraps a failed call in BusPutError and keeps the SDK error as cause', async () => {
    const gone = await startEventBridge();
    const endpoint = gone.endpoint;
    await gone.close();
    const offline = new EventBridgeClient({ endpoint, maxAttempts: 1 });
    const error = await new EventBridgeBus(offline, 'labapp-metal-builds')
      .put({ detailType: 'Build Approved', detail: { buildId: BUILD_ID } })
      .catch((e: unknown) => e);
    offline.destroy();
    expect(error).toBeInstanceOf(BusPutError);
    expect((error as BusPutError).cause).toBeInstanceOf(Error);
    expect((error as BusPutError).code).toBe(((error as BusPutError).cause as Error).name);
  });

  it('works through AWS_ENDPOINT_URL_EVENTBRIDGE with the memoised client', async () => {
    const saved = process.env.AWS_ENDPOINT_URL_EVENTBRIDGE;
    process.env.AWS_ENDPOINT_URL_EVENTBRIDGE = eventBridge.endpoint;
    // A container started with the variable set: its clients are built from it on first use.
    const { getEventBridgeClient } = await freshContainer(() => import('../../../adapters/aws/clients'));
    try {
      expect(getEventBridgeClient()).toBe(getEventBridgeClient('background'));
      await new EventBridgeBus(getEventBridgeClient(), 'labapp-metal-builds').put({
        detailType: 'Build Approved',
        detail: { buildId: BUILD_ID },
      });
      expect(eventBridge.entries.map((e) => e.detail)).toEqual([{ buildId: BUILD_ID }]);
    } finally {
      if (saved === undefined) delete process.env.AWS_ENDPOINT_URL_EVENTBRIDGE;
      else process.env.AWS_ENDPOINT_URL_EVENTBRIDGE = saved;
      getEventBridgeClient('background').destroy();
    }
  });
});

describe('EventBridge stand-in', () => {
  let eventBridge: LocalEventBridge;
  let client: EventBridgeClient;

  beforeAll(async () => {
    eventBridge = await startEventBridge();
    client = new EventBridgeClient({ endpoint: eventBridge.endpoint, maxAttempts: 1 });
  });
  afterAll(async () => {
    client.destroy();
    await eventBridge.close();
  });
  beforeEach(() => eventBridge.clear());

  it('delivers accepted entries to listeners, and idle() waits for events they put in turn', async () => {
    const delivered: PutEntry[] = [];
    const off = eventBridge.onPut(async (entry) => {
      delivered.push(entry);
      if (entry.detailType === 'First') await client.send(new PutEventsCommand({ Entries: [{ Source: 's', DetailType: 'Second', Detail: '{}' }] }));
    });
    await client.send(new PutEventsCommand({ Entries: [{ Source: 's', DetailType: 'First', Detail: '{"n":1}' }] }));
    await eventBridge.idle();
    off();
    expect(delivered.map((e) => e.detailType)).toEqual(['First', 'Second']);
    expect(delivered[0]).toMatchObject({ source: 's', detail: { n: 1 }, id: expect.any(String), time: expect.any(String) });
    expect(eventBridge.listenerErrors).toEqual([]);
  });

  it('answers per entry: a malformed Detail and a forced failure are counted, the rest accepted', async () => {
    eventBridge.failNext(1, 'InternalFailure');
    const out = await client.send(
      new PutEventsCommand({
        Entries: [
          { Source: 's', DetailType: 'A', Detail: '{}' },
          { Source: 's', DetailType: 'B', Detail: 'not json' },
          { Source: 's', DetailType: 'C', Detail: '{}' },
        ],
      }),
    );
    await eventBridge.idle();
    expect(out.FailedEntryCount).toBe(2);
    expect(out.Entries?.map((e) => e.ErrorCode ?? 'ok')).toEqual(['InternalFailure', 'MalformedDetail', 'ok']);
    expect(eventBridge.entries.map((e) => e.detailType)).toEqual(['C']);
  });

  it('keeps a failing listener from breaking PutEvents', async () => {
    const failing = await startEventBridge();
    const local = new EventBridgeClient({ endpoint: failing.endpoint, maxAttempts: 1 });
    failing.onPut(() => {
      throw new Error('handler crashed');
    });
    const out = await local.send(new PutEventsCommand({ Entries: [{ Source: 's', DetailType: 'A', Detail: '{}' }] }));
    await failing.idle();
    local.destroy();
    await failing.close();
    expect(out.FailedEntryCount).toBe(0);
    expect(failing.listenerErrors).toEqual([new Error('handler crashed')]);
  });
});
