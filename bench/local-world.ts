import { startEventBridge, type LocalEventBridge } from '../stand-ins/eventbridge';
import { startDynalite, type LocalDynamo } from '../stand-ins/dynalite';
import { APPROVER, SANDBOX_BOT_TOKEN, startSlackApi, type SlackApi } from '../stand-ins/slack-api';
import { SANDBOX_SIGNING_SECRET } from '../stand-ins/slack-request';

// Everything the handlers talk to, on loopback, started by the bench: dynalite (the table from
// the one schema), the Slack Web API stand-in and the EventBridge stand-in. `env` is what the
// bundled bot reads on its first invocation, as the stack sets it on AWS (with the local
// credentials pair instead of SLACK_SECRET_ARN).

export interface LocalWorld {
  dynamo: LocalDynamo;
  slack: SlackApi;
  eventBridge: LocalEventBridge;
  env: Record<string, string>;
  /**
   * Expire every build awaiting approval, as the watchdog would after APPROVAL_TTL_MINUTES. Run
   * untimed between requests: each request adds one, and a burst of hundreds of open requests
   * (never seen in real use) would make each next request read them all.
   */
  expireAwaiting(): Promise<number>;
  close(): Promise<void>;
}

export async function startLocalWorld(): Promise<LocalWorld> {
  const [dynamo, slack, eventBridge] = await Promise.all([startDynalite(), startSlackApi(), startEventBridge()]);
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
  return {
    dynamo,
    slack,
    eventBridge,
    env,
    expireAwaiting: async () => {
      const open = await dynamo.store.byStatus('awaiting_approval');
      await Promise.all(open.map((b) => dynamo.store.update(b.BuildID, { status: ['awaiting_approval'] }, { Status: 'expired' })));
      return open.length;
    },
    close: async () => {
      await Promise.all([dynamo.close(), slack.close(), eventBridge.close()]);
    },
  };
}
