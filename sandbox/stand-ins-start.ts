import type { Config } from '../domain/config';
import type { LocalCloudWatchLogs } from '../stand-ins/cloudwatch-logs';
import { startCloudWatchLogsStandIn } from '../stand-ins/cloudwatch-logs';
import type { LocalDynamo } from '../stand-ins/dynalite';
import { startDynalite } from '../stand-ins/dynalite';
import type { Ec2StandIn } from '../stand-ins/ec2';
import { startEc2StandIn } from '../stand-ins/ec2';
import type { LocalEventBridge } from '../stand-ins/eventbridge';
import { startEventBridge } from '../stand-ins/eventbridge';
import type { SchedulerStandIn } from '../stand-ins/scheduler';
import { startSchedulerStandIn } from '../stand-ins/scheduler';
import type { LocalSecretsManager } from '../stand-ins/secrets-manager';
import { startSecretsManagerStandIn } from '../stand-ins/secrets-manager';
import type { ServiceQuotasStandIn } from '../stand-ins/service-quotas';
import { startServiceQuotasStandIn } from '../stand-ins/service-quotas';
import type { LocalSns } from '../stand-ins/sns';
import { startSnsStandIn } from '../stand-ins/sns';
import { SANDBOX_BOT_TOKEN } from '../stand-ins/slack-api';
import { SANDBOX_SIGNING_SECRET } from '../stand-ins/slack-request';
import type { SimulatedClock } from './clock';
import { PortInUseError } from './listening-ports';
import { SANDBOX_SLACK_SECRET_NAME, SANDBOX_TOPIC_ARN, knobValue } from './sandbox-config';
import type { Teardown } from './teardown';
import { SANDBOX_GITHUB_STATUS_TOKEN } from '../stand-ins/github';
import { SANDBOX_GITHUB_WEBHOOK_SECRET } from '../stand-ins/github-request';

// Starting the local servers that speak the AWS services' protocols, each closed by the teardown.

/** The credentials every SDK client of the sandbox signs with (the stand-ins do not check them). */
export const SANDBOX_CREDENTIALS = { accessKeyId: 'sandbox', secretAccessKey: 'sandbox' };

export async function startSlackSecret(
  env: Readonly<Record<string, string | undefined>>,
  teardown: Teardown,
): Promise<{ secretsManager: LocalSecretsManager; slackSecretArn: string }> {
  // The Slack secret as the stack stores it (JSON signingSecret + botToken), read by the real loader.
  const secretsManager: LocalSecretsManager = await startSecretsManagerStandIn({ region: 'us-east-1' });
  teardown.add(() => secretsManager.close());
  const slackSecretArn = secretsManager.setSecret(
    SANDBOX_SLACK_SECRET_NAME,
    JSON.stringify({
      signingSecret: knobValue(env, 'SLACK_SIGNING_SECRET') ?? SANDBOX_SIGNING_SECRET,
      botToken: SANDBOX_BOT_TOKEN,
      githubWebhookSecret: SANDBOX_GITHUB_WEBHOOK_SECRET,
      githubStatusToken: SANDBOX_GITHUB_STATUS_TOKEN,
    }),
  );
  return { secretsManager, slackSecretArn };
}

export async function startDynamo(port: number, teardown: Teardown): Promise<LocalDynamo> {
  const dynamo: LocalDynamo = await startDynalite({ port }).catch((error: NodeJS.ErrnoException) => {
    throw error.code === 'EADDRINUSE' ? new PortInUseError('DYNAMODB_PORT', port) : error;
  });
  teardown.add(() => dynamo.close());
  return dynamo;
}

export async function startEventBridgeStandIn(teardown: Teardown): Promise<LocalEventBridge> {
  const eventBridge: LocalEventBridge = await startEventBridge();
  teardown.add(() => eventBridge.close());
  return eventBridge;
}

export async function startEc2(config: Config, clock: SimulatedClock, teardown: Teardown): Promise<Ec2StandIn> {
  // The n-th configured subnet lies in the region's n-th zone (a, b, …).
  const subnets = Object.fromEntries(config.subnetIds.map((id, n) => [id, `${config.region}${String.fromCharCode(97 + (n % 26))}`]));
  const ec2: Ec2StandIn = await startEc2StandIn({
    clock,
    after: (minutes, task) => clock.after(minutes, task),
    region: config.region,
    subnets,
    launchTemplateId: config.launchTemplateId,
  });
  teardown.add(() => ec2.close());
  return ec2;
}

/**
 * The services around the machines: SNS, Service Quotas, CloudWatch Logs (where the simulated
 * runner writes its log), and Scheduler, which terminates them on the simulated clock.
 */
export interface ServiceStandIns {
  sns: LocalSns;
  logs: LocalCloudWatchLogs;
  serviceQuotas: ServiceQuotasStandIn;
  scheduler: SchedulerStandIn;
}

export async function startServiceStandIns(config: Config, clock: SimulatedClock, ec2: Ec2StandIn, teardown: Teardown): Promise<ServiceStandIns> {
  const sns: LocalSns = await startSnsStandIn({ topics: [SANDBOX_TOPIC_ARN] });
  teardown.add(() => sns.close());
  const serviceQuotas: ServiceQuotasStandIn = await startServiceQuotasStandIn({ region: config.region });
  teardown.add(() => serviceQuotas.close());
  const logs: LocalCloudWatchLogs = await startCloudWatchLogsStandIn({ region: config.region });
  teardown.add(() => logs.close());
  const scheduler: SchedulerStandIn = await startSchedulerStandIn({
    clock,
    ec2Endpoint: ec2.endpoint,
    region: config.region,
    credentials: SANDBOX_CREDENTIALS,
    groups: [config.scheduleGroup],
  });
  teardown.add(() => scheduler.close());
  return { sns, logs, serviceQuotas, scheduler };
}
