import { App, AwsLambdaReceiver } from '@slack/bolt';

// The yardstick for the bot's bundle size and cold start: the smallest honest Bolt-on-Lambda
// app, one command that only acks, with a custom authorize (no auth.test), built exactly as
// the bot is.

let receiver: AwsLambdaReceiver | undefined;

function build(): AwsLambdaReceiver {
  const signingSecret = process.env.SLACK_SIGNING_SECRET ?? '';
  const botToken = process.env.SLACK_BOT_TOKEN ?? '';
  const r = new AwsLambdaReceiver({ signingSecret });
  const app = new App({ receiver: r, authorize: async () => ({ botToken }), tokenVerificationEnabled: false });
  app.command('/metal-build', async ({ ack }) => {
    await ack({ response_type: 'ephemeral', text: 'ok' });
  });
  return r;
}

export async function handler(event: Parameters<ReturnType<AwsLambdaReceiver['toHandler']>>[0], context: unknown) {
  receiver ??= build();
  return receiver.toHandler()(event, context);
}
