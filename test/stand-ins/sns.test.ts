import { InvalidParameterException, NotFoundException, PublishCommand, SNSClient, SNSServiceException } from '@aws-sdk/client-sns';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { memoryLogger } from '../../stand-ins/memory-logger';
import { SnsNotifier } from '../../adapters/aws/sns-notifier';
import { startSnsStandIn, type LocalSns } from '../../stand-ins/sns';

// The SNS stand-in against the real SNSClient: what it records is what the SDK put on the wire,
// and its answers (success and Query XML errors) come back as the SDK's own types.

const TOPIC = 'arn:aws:sns:us-east-1:123456789012:labapp-metal-builds';
const BUILD_ID = 'build-20261125-170052-a1b2';

describe('SNS stand-in', () => {
  let sns: LocalSns;
  let client: SNSClient;

  beforeAll(async () => {
    sns = await startSnsStandIn({ topics: [TOPIC] });
  });
  afterAll(async () => {
    await sns.close();
  });
  beforeEach(() => {
    sns.clear();
    client = new SNSClient({
      region: 'us-east-1',
      endpoint: sns.endpoint,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      maxAttempts: 1,
    });
  });
  afterEach(() => client.destroy());

  it('records a Publish with subject, message and attributes and answers its MessageId', async () => {
    const out = await client.send(
      new PublishCommand({
        TopicArn: TOPIC,
        Subject: 'Build & <done>',
        Message: 'line one\nline two = 100% "done"+',
        MessageAttributes: {
          BuildID: { DataType: 'String', StringValue: BUILD_ID },
          Attempt: { DataType: 'Number', StringValue: '2' },
          Blob: { DataType: 'Binary', BinaryValue: new Uint8Array([1, 2, 3]) },
        },
      }),
    );
    expect(out.$metadata.httpStatusCode).toBe(200);
    expect(sns.published).toEqual([
      {
        topicArn: TOPIC,
        subject: 'Build & <done>',
        message: 'line one\nline two = 100% "done"+',
        attributes: {
          BuildID: { dataType: 'String', value: BUILD_ID },
          Attempt: { dataType: 'Number', value: '2' },
          Blob: { dataType: 'Binary', value: Buffer.from([1, 2, 3]).toString('base64') },
        },
        messageId: out.MessageId,
      },
    ]);
    expect(out.MessageId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers NotFound (404) for a topic it was not given', async () => {
    const error = await client.send(new PublishCommand({ TopicArn: `${TOPIC}-typo`, Message: 'hello' })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotFoundException);
    expect(error).toMatchObject({ name: 'NotFoundException', message: 'Topic does not exist', $metadata: { httpStatusCode: 404 } });
    expect((error as NotFoundException).$metadata.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(sns.published).toEqual([]);
  });

  it.each([
    ['a subject over 100 characters', { Subject: 'x'.repeat(101), Message: 'hello' }, 'Invalid parameter: Subject'],
    ['a subject with a line break', { Subject: 'two\nlines', Message: 'hello' }, 'Invalid parameter: Subject'],
    ['an empty message', { Subject: 'fine', Message: '' }, 'Invalid parameter: Empty message'],
  ])('answers InvalidParameter (400) for %s', async (_, input, message) => {
    const error = await client.send(new PublishCommand({ TopicArn: TOPIC, ...input })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidParameterException);
    expect(error).toMatchObject({ message, $metadata: { httpStatusCode: 400 } });
    expect(sns.published).toEqual([]);
  });

  it('accepts a subject of exactly 100 characters', async () => {
    await client.send(new PublishCommand({ TopicArn: TOPIC, Subject: 'x'.repeat(100), Message: 'hello' }));
    expect(sns.published).toHaveLength(1);
  });

  it('refuses the next publishes with failNext, in order, then accepts again', async () => {
    sns.failNext('Throttling', 400);
    sns.failNext('InternalError', 500);
    const throttled = await client.send(new PublishCommand({ TopicArn: TOPIC, Message: 'a' })).catch((e: unknown) => e);
    expect(throttled).toBeInstanceOf(SNSServiceException);
    expect(throttled).toMatchObject({ name: 'Throttling', $fault: 'client', $metadata: { httpStatusCode: 400 } });
    const internal = await client.send(new PublishCommand({ TopicArn: TOPIC, Message: 'b' })).catch((e: unknown) => e);
    expect(internal).toMatchObject({ name: 'InternalErrorException', $fault: 'server', $metadata: { httpStatusCode: 500 } });
    await client.send(new PublishCommand({ TopicArn: TOPIC, Message: 'c' }));
    expect(sns.published.map((p) => p.message)).toEqual(['c']);
  });

  it("lets the SDK's retry get past one failed answer", async () => {
    const retrying = new SNSClient({
      region: 'us-east-1',
      endpoint: sns.endpoint,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      maxAttempts: 2,
    });
    // A server fault, not Throttling: the SDK backs off up to 5 times longer after a throttle.
    sns.failNext('InternalError', 500);
    const out = await retrying.send(new PublishCommand({ TopicArn: TOPIC, Message: 'after retry' }));
    expect(out.$metadata.attempts).toBe(2);
    expect(sns.published.map((p) => p.message)).toEqual(['after retry']);
    retrying.destroy();
  });

  describe('with the real SnsNotifier', () => {
    it('lands the [SEVERITY] subject, the message and the BuildID and Status attributes', async () => {
      const notifier = new SnsNotifier(client, TOPIC, memoryLogger());
      await notifier.notify({
        severity: 'FAILED',
        subject: `Build ${BUILD_ID} failed:\tpacker exited 1`,
        message: 'The build failed in phase packer.\nLog: https://example.invalid/log',
        buildId: BUILD_ID,
        status: 'failed',
      });
      expect(sns.published).toEqual([
        {
          topicArn: TOPIC,
          subject: `[FAILED] Build ${BUILD_ID} failed: packer exited 1`,
          message: 'The build failed in phase packer.\nLog: https://example.invalid/log',
          attributes: { BuildID: { dataType: 'String', value: BUILD_ID }, Status: { dataType: 'String', value: 'failed' } },
          messageId: expect.any(String),
        },
      ]);
    });

    it('keeps a long, non-ASCII subject within what SNS accepts', async () => {
      const notifier = new SnsNotifier(client, TOPIC, memoryLogger());
      await notifier.notify({ severity: 'WARNING', subject: `Über-long ${'y'.repeat(200)}`, message: 'm', buildId: '', status: '' });
      const [published] = sns.published;
      expect(published?.subject).toHaveLength(100);
      expect(published?.subject).toMatch(/^\[WARNING\] \?ber-long y+\.\.\.$/);
      expect(published?.attributes).toEqual({ BuildID: { dataType: 'String', value: 'none' }, Status: { dataType: 'String', value: 'none' } });
    });

    it('surfaces a missing topic as the SDK NotFoundException', async () => {
      const notifier = new SnsNotifier(client, `${TOPIC}-gone`, memoryLogger());
      const error = await notifier.notify({ severity: 'OK', subject: 's', message: 'm', buildId: BUILD_ID, status: 'succeeded' }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(NotFoundException);
      expect(sns.published).toEqual([]);
    });
  });
});
