import { LogLevel, WebClient } from '@slack/web-api';
import { httpFetch } from './http-fetch';

// One WebClient per container, configured for where it runs. The bot answers Slack inside 3 s
// including a cold start, so a slow or rate-limited call fails fast there instead of retrying
// past the deadline; the event functions have time and EventBridge retries behind them.

export type SlackClientProfile = 'request' | 'background';

export interface SlackWebClientOptions {
  token: string;
  /** SLACK_API_URL: Slack's own, or a local stand-in. */
  apiUrl: string;
  profile: SlackClientProfile;
}

const PROFILES = {
  request: { timeout: 2_000, retryConfig: { retries: 0 }, rejectRateLimitedCalls: true },
  // No retries inside the client: a post whose answer was lost would be sent again blindly. The
  // caller retries (EventBridge redelivery, the next watchdog run) and asks the thread first.
  background: { timeout: 10_000, retryConfig: { retries: 0 }, rejectRateLimitedCalls: true },
} as const;

export function createSlackWebClient(options: SlackWebClientOptions): WebClient {
  const profile = PROFILES[options.profile];
  return new WebClient(options.token, {
    slackApiUrl: options.apiUrl.endsWith('/') ? options.apiUrl : `${options.apiUrl}/`,
    logLevel: LogLevel.ERROR,
    // Not Node's fetch: loading it costs every cold start (see http-fetch.ts).
    fetch: httpFetch,
    timeout: profile.timeout,
    retryConfig: { ...profile.retryConfig },
    rejectRateLimitedCalls: profile.rejectRateLimitedCalls,
  });
}
