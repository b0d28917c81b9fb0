import {
  CloudWatchLogsClient,
  CreateLogGroupCommand,
  CreateLogStreamCommand,
  DescribeLogStreamsCommand,
  GetLogEventsCommand,
  InvalidParameterException,
  PutLogEventsCommand,
  PutRetentionPolicyCommand,
  ResourceAlreadyExistsException,
  ResourceNotFoundException,
  ServiceUnavailableException,
} from '@aws-sdk/client-cloudwatch-logs';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startCloudWatchLogsStandIn, type LocalCloudWatchLogs } from '../../stand-ins/cloudwatch-logs';

// The CloudWatch Logs stand-in against the real CloudWatchLogsClient: the runner script's calls
// (create-log-group, put-retention-policy, create-log-stream, put-log-events) and what a test
// needs to read the log back.

const GROUP = '/labapp/metal-build/builds';
const BUILD_ID = 'build-20261125-170052-a1b2';

describe('CloudWatch Logs stand-in', () => {
  let logs: LocalCloudWatchLogs;
  let client: CloudWatchLogsClient;
  let streamNo = 0;
  let stream: string;

  const put = (timestamps: number[], name = stream) =>
    client.send(
      new PutLogEventsCommand({
        logGroupName: GROUP,
        logStreamName: name,
        logEvents: timestamps.map((timestamp, i) => ({ timestamp, message: `line ${i}` })),
      }),
    );

  beforeAll(async () => {
    logs = await startCloudWatchLogsStandIn({ groups: [GROUP] });
  });
  afterAll(async () => {
    await logs.close();
  });
  beforeEach(async () => {
    client = new CloudWatchLogsClient({
      region: 'us-east-1',
      endpoint: logs.endpoint,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      maxAttempts: 1,
    });
    stream = `${BUILD_ID}/${++streamNo}`;
    await client.send(new CreateLogStreamCommand({ logGroupName: GROUP, logStreamName: stream }));
  });
  afterEach(() => client.destroy());

  it('keeps what PutLogEvents wrote, readable with GetLogEvents and groups()', async () => {
    const t = Date.now();
    const first = await put([t, t, t + 5]);
    const second = await put([t + 10]);
    expect(first.$metadata.httpStatusCode).toBe(200);
    expect(first.nextSequenceToken).toMatch(/^\d+$/);
    expect(second.nextSequenceToken).not.toBe(first.nextSequenceToken);

    const out = await client.send(new GetLogEventsCommand({ logGroupName: GROUP, logStreamName: stream, startFromHead: true }));
    expect(out.events?.map((e) => [e.timestamp, e.message])).toEqual([
      [t, 'line 0'],
      [t, 'line 1'],
      [t + 5, 'line 2'],
      [t + 10, 'line 0'],
    ]);
    expect(out.events?.[0]?.ingestionTime).toBeGreaterThanOrEqual(t);

    const group = logs.groups().find((g) => g.name === GROUP);
    expect(group?.streams.find((s) => s.name === stream)?.events.map((e) => e.message)).toEqual(['line 0', 'line 1', 'line 2', 'line 0']);
  });

  it('pages GetLogEvents from the newest events unless startFromHead, with time bounds', async () => {
    const t = Date.now();
    await put([t, t + 1, t + 2, t + 3, t + 4]);
    const read = (input: Partial<ConstructorParameters<typeof GetLogEventsCommand>[0]>) =>
      client.send(new GetLogEventsCommand({ logGroupName: GROUP, logStreamName: stream, ...input }));

    const newest = await read({ limit: 2 });
    expect(newest.events?.map((e) => e.timestamp)).toEqual([t + 3, t + 4]);
    const older = await read({ limit: 2, nextToken: newest.nextBackwardToken });
    expect(older.events?.map((e) => e.timestamp)).toEqual([t + 1, t + 2]);
    const head = await read({ limit: 2, startFromHead: true });
    const next = await read({ limit: 2, nextToken: head.nextForwardToken });
    expect(next.events?.map((e) => e.timestamp)).toEqual([t + 2, t + 3]);
    const bounded = await read({ startTime: t + 1, endTime: t + 3, startFromHead: true });
    expect(bounded.events?.map((e) => e.timestamp)).toEqual([t + 1, t + 2]);
    // At the end, the forward token stays put, as AWS signals "no more yet".
    const end = await read({ startFromHead: true });
    const after = await read({ nextToken: end.nextForwardToken });
    expect(after.events).toEqual([]);
    expect(after.nextForwardToken).toBe(end.nextForwardToken);
  });

  it('refuses events out of chronological order within a batch, and keeps none of them', async () => {
    const t = Date.now();
    const error = await put([t + 5, t]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidParameterException);
    expect(error).toMatchObject({
      message: 'Log events in a single PutLogEvents request must be in chronological order.',
      $metadata: { httpStatusCode: 400 },
    });
    const out = await client.send(new GetLogEventsCommand({ logGroupName: GROUP, logStreamName: stream }));
    expect(out.events).toEqual([]);
  });

  it('answers ResourceNotFoundException for an unknown stream or group', async () => {
    const noStream = await put([Date.now()], 'no-such-stream').catch((e: unknown) => e);
    expect(noStream).toBeInstanceOf(ResourceNotFoundException);
    expect(noStream).toMatchObject({ message: 'The specified log stream does not exist.', $metadata: { httpStatusCode: 400 } });
    const noGroup = await client.send(new CreateLogStreamCommand({ logGroupName: '/no/such/group', logStreamName: 's' })).catch((e: unknown) => e);
    expect(noGroup).toBeInstanceOf(ResourceNotFoundException);
    expect(noGroup).toMatchObject({ message: 'The specified log group does not exist.' });
  });

  it('answers ResourceAlreadyExistsException for an existing stream or group', async () => {
    const again = await client.send(new CreateLogStreamCommand({ logGroupName: GROUP, logStreamName: stream })).catch((e: unknown) => e);
    expect(again).toBeInstanceOf(ResourceAlreadyExistsException);
    expect(again).toMatchObject({ $metadata: { httpStatusCode: 400 } });
    const group = await client.send(new CreateLogGroupCommand({ logGroupName: GROUP })).catch((e: unknown) => e);
    expect(group).toBeInstanceOf(ResourceAlreadyExistsException);
  });

  it('creates log groups and describes their streams by prefix, with event times', async () => {
    const name = `/labapp/test/${streamNo}`;
    await client.send(new CreateLogGroupCommand({ logGroupName: name }));
    for (const s of ['b-2', 'a-1', 'c-3']) await client.send(new CreateLogStreamCommand({ logGroupName: name, logStreamName: s }));
    const t = Date.now();
    await client.send(
      new PutLogEventsCommand({
        logGroupName: name,
        logStreamName: 'a-1',
        logEvents: [
          { timestamp: t, message: 'x' },
          { timestamp: t + 7, message: 'y' },
        ],
      }),
    );

    const all = await client.send(new DescribeLogStreamsCommand({ logGroupName: name }));
    expect(all.logStreams?.map((s) => s.logStreamName)).toEqual(['a-1', 'b-2', 'c-3']);
    expect(all.logStreams?.[0]).toMatchObject({
      firstEventTimestamp: t,
      lastEventTimestamp: t + 7,
      arn: `arn:aws:logs:us-east-1:123456789012:log-group:${name}:log-stream:a-1`,
    });
    expect(all.logStreams?.[1]?.firstEventTimestamp).toBeUndefined();

    const page = await client.send(new DescribeLogStreamsCommand({ logGroupIdentifier: name, limit: 2, descending: true }));
    expect(page.logStreams?.map((s) => s.logStreamName)).toEqual(['c-3', 'b-2']);
    const rest = await client.send(new DescribeLogStreamsCommand({ logGroupName: name, limit: 2, descending: true, nextToken: page.nextToken }));
    expect(rest.logStreams?.map((s) => s.logStreamName)).toEqual(['a-1']);
    expect(rest.nextToken).toBeUndefined();
    const prefixed = await client.send(new DescribeLogStreamsCommand({ logGroupName: name, logStreamNamePrefix: 'b' }));
    expect(prefixed.logStreams?.map((s) => s.logStreamName)).toEqual(['b-2']);
    expect(logs.groups().map((g) => g.name)).toContain(name);
  });

  it('keeps a retention policy of a value CloudWatch allows and refuses others', async () => {
    await client.send(new PutRetentionPolicyCommand({ logGroupName: GROUP, retentionInDays: 14 }));
    expect(logs.groups().find((g) => g.name === GROUP)?.retentionInDays).toBe(14);
    const odd = await client.send(new PutRetentionPolicyCommand({ logGroupName: GROUP, retentionInDays: 13 })).catch((e: unknown) => e);
    expect(odd).toBeInstanceOf(InvalidParameterException);
    expect(logs.groups().find((g) => g.name === GROUP)?.retentionInDays).toBe(14);
  });

  it('refuses the next request with failNext', async () => {
    logs.failNext('ServiceUnavailableException', 503);
    const error = await put([Date.now()]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServiceUnavailableException);
    expect(error).toMatchObject({ $fault: 'server', $metadata: { httpStatusCode: 503 } });
    await expect(put([Date.now()])).resolves.toMatchObject({ $metadata: { httpStatusCode: 200 } });
  });
});
