import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { EC2Client } from '@aws-sdk/client-ec2';
import { S3Client } from '@aws-sdk/client-s3';
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import { ServiceQuotasClient } from '@aws-sdk/client-service-quotas';
import { SNSClient } from '@aws-sdk/client-sns';

// One SDK client per service and profile per container: clients hold keep-alive connections,
// so building them per invocation would pay a TLS handshake every time. No endpoint is set
// here: the standard AWS_ENDPOINT_URL_DYNAMODB / _EVENTBRIDGE / _SECRETS_MANAGER variables
// point them at dynalite and the stand-ins.

/**
 * `request`: inside Slack's 3 s budget, so fail fast and retry once.
 * `background`: EventBridge-driven work, which EventBridge itself retries; SDK timeouts.
 */
export type ClientProfile = 'request' | 'background';

function settings(profile: ClientProfile) {
  if (profile === 'background') return { maxAttempts: 3 };
  return {
    maxAttempts: 2,
    requestHandler: new NodeHttpHandler({
      connectionTimeout: 500,
      // Two attempts of 900 ms leave room for the Slack call inside the 3 s.
      requestTimeout: 900,
      // Without this the SDK only logs a warning when requestTimeout passes.
      throwOnRequestTimeout: true,
    }),
  };
}

const clients = new Map<string, { destroy(): void }>();

function memo<T extends { destroy(): void }>(key: string, create: () => T): T {
  let client = clients.get(key) as T | undefined;
  if (!client) {
    client = create();
    clients.set(key, client);
  }
  return client;
}

export function getDynamoClient(profile: ClientProfile = 'background'): DynamoDBClient {
  return memo(`dynamodb:${profile}`, () => new DynamoDBClient(settings(profile)));
}

export function getEventBridgeClient(profile: ClientProfile = 'background'): EventBridgeClient {
  return memo(`eventbridge:${profile}`, () => new EventBridgeClient(settings(profile)));
}

/**
 * The secret is read at cold start by the Slack-facing function too, so the default is the
 * short `request` profile; an events function that times out is retried by EventBridge.
 */
export function getSecretsClient(profile: ClientProfile = 'request'): SecretsManagerClient {
  return memo(`secrets:${profile}`, () => new SecretsManagerClient(settings(profile)));
}

// The events functions' clients take the SDK's own endpoint variables too (AWS_ENDPOINT_URL_EC2,
// _SNS, _SERVICE_QUOTAS, _SCHEDULER, _S3), so local servers work without code for them.

export function getEc2Client(): EC2Client {
  // Events functions may wait: the SDK's standard retries (throttling, 5xx) stay on.
  return memo('ec2', () => new EC2Client({}));
}

export function getSnsClient(): SNSClient {
  return memo('sns', () => new SNSClient({}));
}

export function getServiceQuotasClient(): ServiceQuotasClient {
  // The launch goes on without the quota check when this fails: one attempt, no long waits.
  return memo('service-quotas', () => new ServiceQuotasClient({ maxAttempts: 1 }));
}

export function getSchedulerClient(): SchedulerClient {
  // A failed call throws and EventBridge retries the event; the watchdog repairs the rest.
  return memo('scheduler', () => new SchedulerClient({}));
}

export function getS3Client(): S3Client {
  // The release function's copies: a failure throws and EventBridge delivers the event again.
  return memo('s3', () => new S3Client({}));
}

/**
 * Build machines' logs (`logs` and Show log in the bot, the warning and a forced end's message in
 * the events functions): AWS_ENDPOINT_URL_CLOUDWATCH_LOGS points it at the stand-in. Reading a
 * log is never in the way of anything else: a failure is logged and the message goes without it.
 */
export function getCloudWatchLogsClient(profile: ClientProfile = 'background'): CloudWatchLogsClient {
  return memo(`logs:${profile}`, () => new CloudWatchLogsClient(settings(profile)));
}
