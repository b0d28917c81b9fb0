import { parse as parseQueryString } from 'node:querystring';
import { createLogger } from '../adapters/aws/logger';
import type { Clock } from '../domain/ports';
import { systemClock } from '../domain/ports';
import type { SlackLambdaHandler } from './app';
import { createSlackApp } from './app';
import type { BotDeps } from './deps';
import { loadBotDeps } from './deps';
import { GITHUB_WEBHOOK_PATH, handleGithubDelivery } from './github-webhook';
import { checkSlackSignature, headerValue, signedRequestOf } from './slack-signature';

// The Lambda entry (Function URL → signature check → Bolt). `createHandler` is what the sandbox
// and the tests call with their adapters; `handler` applies it to the real ones, built on the
// first invocation (so importing this module reads no environment) and once per container after that.

type SlackEvent = Parameters<SlackLambdaHandler>[0];
type SlackResult = Awaited<ReturnType<SlackLambdaHandler>>;

export interface HandlerOptions {
  /**
   * What Slack's signature timestamps are checked against. Slack signs with wall-clock time, and
   * so does the sandbox while its simulated `deps.clock` runs ahead: never `deps.clock`.
   */
  wallClock?: Clock;
}

export function createHandler(deps: BotDeps, options: HandlerOptions = {}): SlackLambdaHandler {
  return signedBySlackFirst(deps, options.wallClock ?? systemClock, createSlackApp(deps).handler);
}

const FORM = 'application/x-www-form-urlencoded';

const answer = (statusCode: number, body: string): SlackResult => ({ statusCode, headers: { 'content-type': 'text/plain' }, body });

/**
 * Nothing reaches Bolt unless Slack signed it: Bolt parses a body before checking its signature,
 * and a body it cannot parse makes the invocation fail — which anyone could do, setting off the
 * bot's error alarm. Bolt still checks the signature again after this; that is harmless.
 */
function signedBySlackFirst(deps: BotDeps, wallClock: Clock, bolt: SlackLambdaHandler): SlackLambdaHandler {
  return async (event, context) => {
    // GitHub signs its deliveries its own way: routed before Slack's check, which would refuse them.
    if (pathOf(event) === GITHUB_WEBHOOK_PATH) return handleGithubDelivery(deps, event, sourceIpOf(event));
    const request = signedRequestOf(event);
    const check = checkSlackSignature(deps.credentials.signingSecret, request, wallClock.now());
    if (!check.ok) {
      // The fact and its kind only: never the signature, the body or the secret.
      deps.log.warn('refused a request with an invalid or stale Slack signature', {
        reason: check.reason,
        ...(check.timestamp !== undefined ? { requestTimestamp: check.timestamp } : {}),
        sourceIp: sourceIpOf(event),
      });
      return answer(401, 'invalid Slack signature');
    }

    const text = request.body.toString('utf8');
    const contentType = headerValue(event.headers, 'Content-Type');
    if (!boltCanParse(text, contentType)) {
      deps.log.warn('refused a signed request whose body does not parse', { contentType: contentType ?? null });
      return answer(400, 'unreadable request body');
    }
    // Bolt decodes a base64 body as ASCII, which garbles any byte outside it (its HMAC and its
    // JSON.parse would then see something Slack never sent): it gets the text checked above.
    return bolt({ ...event, body: text, isBase64Encoded: false }, context);
  };
}

/** AwsLambdaReceiver's parsing, which throws: form fields (a `payload` field is JSON), else JSON. */
function boltCanParse(text: string, contentType: string | undefined): boolean {
  try {
    if (contentType === FORM) {
      const payload = parseQueryString(text).payload;
      if (typeof payload === 'string') JSON.parse(payload);
    } else {
      JSON.parse(text);
    }
    return true;
  } catch {
    return false;
  }
}

/** The request's path: `rawPath` in a Function URL event (payload 2.0), `path` in API Gateway's 1.0. */
function pathOf(event: SlackEvent): string | undefined {
  const e = event as { rawPath?: unknown; path?: unknown };
  if (typeof e.rawPath === 'string') return e.rawPath;
  return typeof e.path === 'string' ? e.path : undefined;
}

/** Function URL events (payload 2.0) say where a request came from; worth a line when it is refused. */
function sourceIpOf(event: SlackEvent): string | undefined {
  const ip: unknown = (event.requestContext as { http?: { sourceIp?: unknown } } | null | undefined)?.http?.sourceIp;
  return typeof ip === 'string' ? ip : undefined;
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
