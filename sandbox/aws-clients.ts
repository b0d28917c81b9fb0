import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { EC2Client } from '@aws-sdk/client-ec2';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ServiceQuotasClient } from '@aws-sdk/client-service-quotas';
import type { PublishResponse } from '@aws-sdk/client-sns';
import { SNSClient } from '@aws-sdk/client-sns';
import { EventBridgeBus } from '../adapters/aws/event-bus';
import type { Config } from '../domain/config';
import type { LocalEventBridge } from '../stand-ins/eventbridge';
import { SANDBOX_CREDENTIALS } from './stand-ins-start';
import type { Teardown } from './teardown';

// The real SDK clients, each pointed at its stand-in, as the Lambdas build them on AWS.

const sdk = (config: Config) => ({ region: config.region, credentials: SANDBOX_CREDENTIALS });

/** The custom bus: the client the runner puts its phases with, and the bot's port on it. */
export function connectEventBridge(config: Config, eventBridge: LocalEventBridge, teardown: Teardown) {
  const eventBridgeClient = new EventBridgeClient({ ...sdk(config), endpoint: eventBridge.endpoint });
  teardown.add(() => eventBridgeClient.destroy());
  return { eventBridgeClient, botBus: new EventBridgeBus(eventBridgeClient, config.eventBusName) };
}

export interface AwsClients {
  ec2Client: EC2Client;
  snsClient: SNSClient;
  quotasClient: ServiceQuotasClient;
  secretsClient: SecretsManagerClient;
  schedulerClient: SchedulerClient;
  logsClient: CloudWatchLogsClient;
}

/** The stand-ins the Lambdas' clients talk to. */
type ClientEndpoints = Record<'ec2' | 'sns' | 'serviceQuotas' | 'secretsManager' | 'scheduler' | 'logs', { endpoint: string }>;

export function connectClients(config: Config, standIns: ClientEndpoints, teardown: Teardown): AwsClients {
  const aws = sdk(config);
  const ec2Client = new EC2Client({ ...aws, endpoint: standIns.ec2.endpoint });
  const snsClient = new SNSClient({ ...aws, endpoint: standIns.sns.endpoint });
  // As adapters/aws/clients.ts: one attempt, the launch goes on without the quota check when it fails.
  const quotasClient = new ServiceQuotasClient({ ...aws, endpoint: standIns.serviceQuotas.endpoint, maxAttempts: 1 });
  const secretsClient = new SecretsManagerClient({ ...aws, endpoint: standIns.secretsManager.endpoint });
  const schedulerClient = new SchedulerClient({ ...aws, endpoint: standIns.scheduler.endpoint });
  const logsClient = new CloudWatchLogsClient({ ...aws, endpoint: standIns.logs.endpoint });
  teardown.add(() => {
    for (const client of [ec2Client, snsClient, quotasClient, secretsClient, schedulerClient, logsClient]) client.destroy();
  });
  return { ec2Client, snsClient, quotasClient, secretsClient, schedulerClient, logsClient };
}

/** Calls `answered` with each Publish's message id, once SNS answered it. */
export function onPublish(snsClient: SNSClient, answered: (messageId: string | undefined) => void): void {
  snsClient.middlewareStack.add(
    (next) => async (args) => {
      const result = await next(args);
      answered((result.output as PublishResponse).MessageId);
      return result;
    },
    { step: 'initialize', name: 'sandboxPublishTime' },
  );
}
