import { createLogger } from '../core/aws/logger';
import type { SlackLambdaHandler } from './app';
import { createSlackApp } from './app';
import type { BotDeps } from './deps';
import { loadBotDeps } from './deps';

// The Lambda entry (Function URL → Bolt). `createHandler` is what the sandbox and the tests call
// with their adapters; `handler` applies it to the real ones, built on the first invocation (so
// importing this module reads no environment) and once per container after that.

type SlackEvent = Parameters<SlackLambdaHandler>[0];
type SlackResult = Awaited<ReturnType<SlackLambdaHandler>>;

export function createHandler(deps: BotDeps): SlackLambdaHandler {
  return createSlackApp(deps).handler;
}

let real: Promise<SlackLambdaHandler> | undefined;

function realHandler(): Promise<SlackLambdaHandler> {
  if (!real) {
    const loading = loadBotDeps().then(createHandler);
    real = loading;
    // A failed start (bad configuration, secret unreadable) is not kept: the next invocation retries.
    loading.catch((error: unknown) => {
      if (real === loading) real = undefined;
      createLogger({ fn: 'bot' }).error('the bot could not start', { error });
    });
  }
  return real;
}

export async function handler(event: SlackEvent, context: unknown): Promise<SlackResult> {
  return (await realHandler())(event, context);
}
