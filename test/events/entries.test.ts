import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { memoryLogger } from '../../stand-ins/memory-logger';
import * as buildPhase from '../../events/build-phase';
import * as cancel from '../../events/cancel';
import * as deadline from '../../events/deadline';
import { Ec2Compute } from '../../adapters/aws/ec2-compute';
import * as instanceState from '../../events/instance-state';
import * as launch from '../../events/launch';
import * as release from '../../events/release';
import { S3Artifacts } from '../../adapters/aws/s3-artifacts';
import { SnsNotifier } from '../../adapters/aws/sns-notifier';
import * as watchdog from '../../events/watchdog';
import type { LocalDynamo } from '../../stand-ins/dynalite';
import { startDynalite } from '../../stand-ins/dynalite';
import { SANDBOX_BOT_TOKEN } from '../../stand-ins/slack-api';
import { aLaunchedBuild, at } from '../../stand-ins/build-fixture';
import { freshContainer } from '../support/fresh-container';
import { cancelRequested } from '../support/event-fixtures';

// The Lambda entries: a factory and a two-argument `handler` each, real dependencies built once
// per container from the environment on the first invocation (never at import).

const ENTRIES = { launch, 'instance-state': instanceState, 'build-phase': buildPhase, watchdog, cancel, deadline, release };

describe('Lambda entries', () => {
  it.each(Object.entries(ENTRIES))('%s exports createHandler and a 2-argument handler', (_name, entry) => {
    expect(typeof entry.createHandler).toBe('function');
    expect(typeof entry.handler).toBe('function');
    expect(entry.handler.length).toBe(2);
  });
});

/** A new container: what these cases use of it, all from the one fresh module registry. */
const newContainer = () =>
  freshContainer(async () => ({
    ...(await import('../../events/deps')),
    ...(await import('../../adapters/aws/clients')),
    ConfigError: (await import('../../domain/config')).ConfigError,
    cancel: await import('../../events/cancel'),
  }));

/** Closes a container's keep-alive sockets: every SDK client it memoises, reached through its getters. */
function destroyClients(container: Awaited<ReturnType<typeof newContainer>>): void {
  for (const profile of ['request', 'background'] as const) {
    container.getDynamoClient(profile).destroy();
    container.getEventBridgeClient(profile).destroy();
    container.getSecretsClient(profile).destroy();
  }
  for (const client of [
    container.getEc2Client(),
    container.getSnsClient(),
    container.getServiceQuotasClient(),
    container.getSchedulerClient(),
    container.getS3Client(),
  ])
    client.destroy();
}

describe('real dependencies', () => {
  let dynamo: LocalDynamo;
  const saved = { ...process.env };
  // Each case in a new container, which reads the environment the case sets on first use.
  let container: Awaited<ReturnType<typeof newContainer>>;
  beforeAll(async () => {
    dynamo = await startDynalite();
  });
  afterAll(() => dynamo.close());
  beforeEach(async () => {
    container = await newContainer();
  });
  afterEach(() => {
    process.env = { ...saved };
    destroyClients(container);
  });

  it('log the configuration once per container, secrets masked', async () => {
    const lines: string[] = [];
    const spy = vi.spyOn(console, 'log').mockImplementation((line: unknown) => {
      lines.push(String(line));
    });
    try {
      Object.assign(process.env, {
        SLACK_SIGNING_SECRET: 'test-signing-secret-value',
        SLACK_BOT_TOKEN: SANDBOX_BOT_TOKEN,
        EVENT_TOKEN_KEY: 'an-event-token-key-of-enough-length',
        BUILDS_TABLE: dynamo.tableName,
        AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      });
      await container.loadEventDeps();
      await container.loadEventDeps();
    } finally {
      spy.mockRestore();
    }
    const configLines = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.message === 'configuration');
    expect(configLines).toHaveLength(1);
    expect(configLines[0]).toMatchObject({ config: { buildsTable: dynamo.tableName, slackSigningSecret: '***(25 chars)', eventTokenKey: '***(35 chars)' } });
    const all = lines.join('');
    for (const secret of ['test-signing-secret-value', SANDBOX_BOT_TOKEN, 'an-event-token-key-of-enough-length']) expect(all).not.toContain(secret);
  });

  it('are built once per container from the environment, and serve the real handler', async () => {
    Object.assign(process.env, {
      SLACK_SIGNING_SECRET: 'test-signing-secret',
      SLACK_BOT_TOKEN: SANDBOX_BOT_TOKEN,
      SLACK_API_URL: 'http://127.0.0.1:9/api/',
      BUILDS_TABLE: dynamo.tableName,
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    });
    const first = container.loadEventDeps();
    expect(container.loadEventDeps()).toBe(first);
    const deps = await first;
    expect(deps.config.buildsTable).toBe(dynamo.tableName);

    const build = aLaunchedBuild('building', { Status: 'completed', NotifiedStatus: 'completed' });
    await dynamo.store.create(build);
    // A cancel for a finished build reads the table through the real store and changes nothing.
    await container.cancel.handler(cancelRequested(build.BuildID, 'U0REQUESTER', at(30)), {});
    expect(await dynamo.store.get(build.BuildID)).toEqual(build);
  });

  it('a bad environment fails the invocation and is read again on the next one', async () => {
    Object.assign(process.env, { SLACK_SIGNING_SECRET: 'x', SLACK_BOT_TOKEN: 'y', MAX_LIFETIME_HOURS: 'three' });
    await expect(container.loadEventDeps()).rejects.toBeInstanceOf(container.ConfigError);
    process.env.MAX_LIFETIME_HOURS = '3';
    await expect(container.loadEventDeps()).resolves.toMatchObject({ config: { maxLifetimeHours: 3 } });
  });

  it('the S3 client is one per container, built on first use, and reaches AWS_ENDPOINT_URL_S3', async () => {
    const seen: string[] = [];
    const server = createServer((req, res) => {
      seen.push(`${req.method} ${req.headers.host}`);
      res.writeHead(404);
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      process.env.AWS_ENDPOINT_URL_S3 = `http://127.0.0.1:${port}`;
      Object.assign(process.env, { AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' });
      expect(container.getS3Client()).toBe(container.getS3Client());
      // A 404 on HeadObject is "not there", not an error.
      expect(await new S3Artifacts(container.getS3Client()).size('hedgehog-lab-artifacts', 'builds/b/x.ova')).toBeUndefined();
      expect(seen).toEqual([`HEAD 127.0.0.1:${port}`]);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it('EC2 and SNS clients are one per container and reach AWS_ENDPOINT_URL_EC2 / _SNS', async () => {
    const seen: string[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        seen.push(`${req.headers.host} ${new URLSearchParams(body).get('Action') ?? req.headers['x-amz-target'] ?? '?'}`);
        res.writeHead(400, { 'content-type': 'text/xml' });
        res.end('<Response><Errors><Error><Code>Refused</Code><Message>local</Message></Error></Errors><RequestID>r</RequestID></Response>');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      process.env.AWS_ENDPOINT_URL_EC2 = `http://127.0.0.1:${port}`;
      process.env.AWS_ENDPOINT_URL_SNS = `http://127.0.0.1:${port}`;
      expect(container.getEc2Client()).toBe(container.getEc2Client());
      expect(container.getSnsClient()).toBe(container.getSnsClient());
      await expect(new Ec2Compute(container.getEc2Client(), 'lt-0').listTagged()).rejects.toThrow();
      await expect(
        new SnsNotifier(container.getSnsClient(), 'arn:aws:sns:us-east-1:123456789012:t', memoryLogger()).notify({
          severity: 'INFO',
          subject: 's',
          message: 'm',
          buildId: 'b',
          status: 's',
        }),
      ).rejects.toThrow();
      expect(seen).toHaveLength(2);
      expect(seen[0]).toBe(`127.0.0.1:${port} DescribeInstances`);
      expect(seen[1]).toMatch(new RegExp(`^127\\.0\\.0\\.1:${port} .*Publish`));
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});
