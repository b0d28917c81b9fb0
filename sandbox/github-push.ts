import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { GithubStandIn, ReceivedStatus } from '../stand-ins/github';
import { githubDeliveryEvent, pushPayload } from '../stand-ins/github-request';
import { lambdaContext, parseLambdaResult } from '../stand-ins/slack-request';
import type { FunctionUrlHandler } from './function-url';

// The sandbox's "GitHub: push tag" (docs/design.md "Sandbox contract"): a push of a new tag,
// signed with the sandbox's webhook secret exactly as GitHub signs it, sent to the bot's
// `/github/webhook`; and the commit statuses the GitHub stand-in received since, newest last.

export interface GithubControl {
  /** A new tag (`v1.<n>.0` unless given) at a fresh commit: the bot's answer and how long it took. */
  push(tag?: string): Promise<{ status: number; body: string; tag: string; commit: string; tookMs: number }>;
  statuses(): ReceivedStatus[];
}

export function createGithubControl(options: { bot: FunctionUrlHandler; github: GithubStandIn; changed: () => void }): GithubControl {
  let pushed = 0;
  return {
    async push(tag) {
      const name = tag ?? `v1.${++pushed}.0`;
      const commit = randomBytes(20).toString('hex');
      const started = Date.now();
      const result = parseLambdaResult(await options.bot(githubDeliveryEvent(pushPayload({ tag: name, commit })), lambdaContext('metal-build-bot')));
      options.changed();
      return { status: result.statusCode, body: result.text, tag: name, commit, tookMs: Date.now() - started };
    },
    statuses: () => options.github.statuses(),
  };
}

type Route = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void>;

const json = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
};

/** `POST /sandbox/github/push` (`{ "tag"?: "v1.4.0" }`) and `GET /sandbox/github/statuses`, for the sandbox's route table. */
export function githubRoutes(control: GithubControl): Array<[string, Route]> {
  const push: Route = async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    let tag: string | undefined;
    try {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as { tag?: unknown };
      tag = typeof body.tag === 'string' && body.tag !== '' ? body.tag : undefined;
    } catch {
      return json(res, 400, { error: 'the body is not JSON' });
    }
    json(res, 200, await control.push(tag));
  };
  const statuses: Route = (_req, res) => {
    json(res, 200, { statuses: control.statuses() });
    return Promise.resolve();
  };
  return [
    ['POST /sandbox/github/push', push],
    ['GET /sandbox/github/statuses', statuses],
  ];
}
