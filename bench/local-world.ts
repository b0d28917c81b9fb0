import { startEventBridge, type LocalEventBridge } from '../stand-ins/eventbridge';
import { startDynalite, type LocalDynamo } from '../stand-ins/dynalite';
import { APPROVER, SANDBOX_BOT_TOKEN, startSlackApi, type SlackApi } from '../stand-ins/slack-api';
import { SANDBOX_SIGNING_SECRET } from '../stand-ins/slack-request';
import { startSecretsManagerStandIn, type LocalSecretsManager } from '../stand-ins/secrets-manager';

// Everything the handlers talk to, on loopback, started by the bench: dynalite (the table from
// the one schema), the Slack Web API stand-in, the EventBridge stand-in and the Secrets Manager
// stand-in holding the Slack secret as adapters/aws/slack-secret.ts reads it. `env` is what the
// bundled bot reads on its first invocation, with the local credentials pair; `secretEnv` is
// the same as the stack sets it on AWS: SLACK_SECRET_ARN (and the stand-in's endpoint) instead.

export interface LocalWorld {
  dynamo: LocalDynamo;
  slack: SlackApi;
  eventBridge: LocalEventBridge;
  secrets: LocalSecretsManager;
  env: Record<string, string>;
  secretEnv: Record<string, string>;
  /**
   * Expire every build awaiting approval, as the watchdog would after APPROVAL_TTL_MINUTES. Run
   * untimed between requests: each request adds one, and a burst of hundreds of open requests
   * (never seen in real use) would make each next request read them all.
   */
  expireAwaiting(): Promise<number>;
  close(): Promise<void>;
}

export async function startLocalWorld(): Promise<LocalWorld> {
  const [dynamo, slack, eventBridge, secrets] = await Promise.all([startDynalite(), startSlackApi(), startEventBridge(), startSecretsManagerStandIn()]);
  const secretArn = secrets.setSecret('metal-build/slack', JSON.stringify({ signingSecret: SANDBOX_SIGNING_SECRET, botToken: SANDBOX_BOT_TOKEN }));
  const env: Record<string, string> = {
    SLACK_SIGNING_SECRET: SANDBOX_SIGNING_SECRET,
    SLACK_BOT_TOKEN: SANDBOX_BOT_TOKEN,
    SLACK_API_URL: slack.url,
    BUILDS_TABLE: dynamo.tableName,
    EVENT_BUS_NAME: 'labapp-metal-builds',
    APPROVER_IDS: APPROVER,
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    AWS_ENDPOINT_URL_EVENTBRIDGE: eventBridge.endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'bench-access-key',
    AWS_SECRET_ACCESS_KEY: 'bench-secret-key',
  };
  const { SLACK_SIGNING_SECRET: _signing, SLACK_BOT_TOKEN: _token, ...withoutCredentials } = env;
  const secretEnv = { ...withoutCredentials, SLACK_SECRET_ARN: secretArn, AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint };
  return {
    dynamo,
    slack,
    eventBridge,
    secrets,
    env,
    secretEnv,
    expireAwaiting: async () => {
      const open = await dynamo.store.byStatus('awaiting_approval');
      await Promise.all(open.map((b) => dynamo.store.update(b.BuildID, { status: ['awaiting_approval'] }, { Status: 'expired' })));
      return open.length;
    },
    close: async () => {
      await Promise.all([dynamo.close(), slack.close(), eventBridge.close(), secrets.close()]);
    },
  };
}
