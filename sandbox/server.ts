import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import type { FunctionUrlHandler } from './function-url';
import { invokeFunctionUrl } from './function-url';
import type { Outcome } from './runner';
import { OUTCOMES } from './runner';
import type { LiveUpdates } from './live-updates';
import { liveUpdates } from './live-updates';
import type { Click, Delivered, HomeClick, Submitted } from './slack-platform';
import { MAX_ROWS as MAX_STATE_ROWS } from './table-view';
import type { GithubControl } from './github-push';
import { githubRoutes } from './github-push';

// The sandbox's one HTTP port: the page and its live updates, the bot's Function URL at
// /slack/events, the Slack Web API stand-in at /api/<method>, and the sandbox's own controls.
// Every JSON body is parsed with a schema; a bad one is answered 400 with what is wrong.

const PAGE_DIR = new URL('./page/', import.meta.url);
const PAGE_FILES: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/page.js': { file: 'page.js', type: 'text/javascript; charset=utf-8' },
  '/page.css': { file: 'page.css', type: 'text/css; charset=utf-8' },
};
const MAX_BODY_BYTES = 1024 * 1024;
/** A longer jump would run the watchdog ten thousand times and more for one request. */
export const MAX_ADVANCE_MINUTES = 7 * 24 * 60;

export interface SandboxEndpoints {
  /** Answers /api/<method>; false when it is not one. */
  slackApi(req: IncomingMessage, res: ServerResponse): boolean;
  bot: FunctionUrlHandler;
  /** After the bot answered: the table may have changed. */
  botAnswered(): void;
  /** What the page shows `user`; `limit` bounds the table's rows (the newest builds). */
  state(user: string, view: { limit?: number }): Promise<unknown>;
  advance(minutes: number): Promise<Date>;
  outcome(): Outcome;
  setOutcome(outcome: Outcome): void;
  users: readonly string[];
  channel: string;
  slash(user: string, text: string): Promise<{ status: number; tookMs: number }>;
  click(click: Click): Promise<{ status: number; tookMs: number }>;
  respond(id: string, body: unknown): boolean;
  /** `user` opens the app's Home or Messages tab (a signed app_home_opened). */
  openHome(user: string, tab: 'home' | 'messages'): Promise<Delivered>;
  homeClick(click: HomeClick): Promise<Delivered>;
  submitView(user: string, viewId: string, values: Record<string, string>): Promise<Submitted>;
  closeView(user: string): void;
  /** Pause (or resume) simulated time; answers, once time stands still, whether it is paused. */
  pause(paused: boolean): Promise<boolean>;
  onChange(listener: () => void): () => void;
  /** "GitHub: push tag" and the statuses GitHub received (sandbox/github-push.ts). */
  github?: GithubControl;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new HttpError(413, 'body too large'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

async function readJson<T>(req: IncomingMessage, schema: z.ZodType<T>): Promise<T> {
  const raw = (await readBody(req)).toString('utf8');
  let parsed: unknown;
  try {
    parsed = raw.trim() === '' ? {} : JSON.parse(raw);
  } catch {
    throw new HttpError(400, 'the body is not JSON');
  }
  const r = schema.safeParse(parsed);
  if (!r.success) throw new HttpError(400, r.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
  return r.data;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(text);
}

const clockBody = z.object({ advanceMinutes: z.number().positive().max(MAX_ADVANCE_MINUTES) });
const outcomeBody = z.object({ outcome: z.string() });
const pauseBody = z.object({ paused: z.boolean() });

/** The bodies that name a sandbox user, who must be one of `endpoints.users`. */
function userBodies(endpoints: SandboxEndpoints) {
  const user = z.enum(endpoints.users as [string, ...string[]]);
  const slashBody = z.object({ user, text: z.string().max(4000) });
  const clickBody = z.object({
    user,
    channel: z.string().default(endpoints.channel),
    messageTs: z.string().regex(/^\d+\.\d+$/),
    ephemeral: z.boolean().default(false),
    actionId: z.string().min(1).max(255),
    blockId: z.string().max(255).optional(),
    value: z.string().max(2000).optional(),
    text: z.string().max(200).default(''),
  });
  const homeBody = z.object({ user, tab: z.enum(['home', 'messages']).default('home') });
  const homeClickBody = z.object({
    user,
    actionId: z.string().min(1).max(255),
    value: z.string().max(2000).optional(),
    text: z.string().max(200).default(''),
  });
  const viewBody = z.object({ user, viewId: z.string().min(1).max(255), values: z.record(z.string().max(255), z.string().max(3000)).default({}) });
  const closeBody = z.object({ user });
  return { user, slashBody, clickBody, homeBody, homeClickBody, viewBody, closeBody };
}

type UserBodies = ReturnType<typeof userBodies>;

type Route = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void> | void;

export interface SandboxRoutes {
  handle(req: IncomingMessage, res: ServerResponse): void;
  /** Ends the live-update streams. */
  close(): void;
}

// ---- the routes ---------------------------------------------------------------------------------

function pageFile(page: { file: string; type: string }): Route {
  return async (_req, res) => {
    const content = await readFile(new URL(page.file, PAGE_DIR));
    res.writeHead(200, {
      'content-type': page.type,
      'cache-control': 'no-store',
      // The page draws everything with DOM calls; nothing inline, nothing from elsewhere.
      'content-security-policy': "default-src 'self'; img-src 'self' data: https:; style-src 'self'; script-src 'self'",
      'x-content-type-options': 'nosniff',
    });
    res.end(content);
  };
}

const favicon: Route = (_req, res) => {
  res.writeHead(204);
  res.end();
};

function slackApi(endpoints: SandboxEndpoints): Route {
  return (req, res) => {
    if (!endpoints.slackApi(req, res)) json(res, 404, { ok: false, error: 'unknown_method' });
  };
}

function slackEvents(endpoints: SandboxEndpoints): Route {
  return async (req, res) => {
    if (req.method !== 'POST') throw new HttpError(405, 'POST only');
    const body = await readBody(req);
    await invokeFunctionUrl(endpoints.bot, 'metal-build-bot', req, body, res);
    endpoints.botAnswered();
  };
}

function state(endpoints: SandboxEndpoints, { user }: UserBodies): Route {
  return async (_req, res, url) => {
    const who = url.searchParams.get('user') ?? endpoints.users[0] ?? '';
    if (!user.safeParse(who).success) throw new HttpError(400, `unknown user ${JSON.stringify(who)}; one of ${endpoints.users.join(', ')}`);
    const limit = url.searchParams.get('limit');
    const n = limit === null ? undefined : Number(limit);
    if (n !== undefined && (!Number.isInteger(n) || n < 0 || n > MAX_STATE_ROWS))
      throw new HttpError(400, `limit must be a whole number from 0 to ${MAX_STATE_ROWS}, got ${JSON.stringify(limit)}`);
    json(res, 200, await endpoints.state(who, n === undefined ? {} : { limit: n }));
  };
}

function advanceClock(endpoints: SandboxEndpoints): Route {
  return async (req, res) => {
    const { advanceMinutes } = await readJson(req, clockBody);
    const now = await endpoints.advance(advanceMinutes);
    json(res, 200, { now: now.toISOString() });
  };
}

function setOutcome(endpoints: SandboxEndpoints): Route {
  return async (req, res) => {
    const { outcome } = await readJson(req, outcomeBody);
    if (!(OUTCOMES as readonly string[]).includes(outcome))
      throw new HttpError(400, `unknown outcome ${JSON.stringify(outcome)}; one of ${OUTCOMES.join(', ')}`);
    endpoints.setOutcome(outcome as Outcome);
    json(res, 200, { outcome: endpoints.outcome() });
  };
}

function slash(endpoints: SandboxEndpoints, { slashBody }: UserBodies): Route {
  return async (req, res) => {
    const { user: who, text } = await readJson(req, slashBody);
    json(res, 200, await endpoints.slash(who, text));
  };
}

function click(endpoints: SandboxEndpoints, { clickBody }: UserBodies): Route {
  return async (req, res) => {
    const body = await readJson(req, clickBody);
    json(res, 200, await endpoints.click(body));
  };
}

function home(endpoints: SandboxEndpoints, { homeBody }: UserBodies): Route {
  return async (req, res) => {
    const { user: who, tab } = await readJson(req, homeBody);
    json(res, 200, await endpoints.openHome(who, tab));
    endpoints.botAnswered();
  };
}

function homeClick(endpoints: SandboxEndpoints, { homeClickBody }: UserBodies): Route {
  return async (req, res) => {
    const body = await readJson(req, homeClickBody);
    json(res, 200, await endpoints.homeClick(body));
  };
}

function submitView(endpoints: SandboxEndpoints, { viewBody }: UserBodies): Route {
  return async (req, res) => {
    const { user: who, viewId, values } = await readJson(req, viewBody);
    const submitted = await endpoints.submitView(who, viewId, values);
    if ('refused' in submitted) throw new HttpError(400, submitted.refused);
    json(res, 200, submitted);
  };
}

function closeView(endpoints: SandboxEndpoints, { closeBody }: UserBodies): Route {
  return async (req, res) => {
    const { user: who } = await readJson(req, closeBody);
    endpoints.closeView(who);
    json(res, 200, { ok: true });
  };
}

function pause(endpoints: SandboxEndpoints): Route {
  return async (req, res) => {
    const { paused } = await readJson(req, pauseBody);
    json(res, 200, { paused: await endpoints.pause(paused) });
  };
}

const RESPONSE_URL = /^\/sandbox\/response\/([0-9a-f]+)$/;

function respond(endpoints: SandboxEndpoints): Route {
  return async (req, res, url) => {
    const id = RESPONSE_URL.exec(url.pathname)?.[1] ?? '';
    const raw = (await readBody(req)).toString('utf8');
    let body: unknown;
    try {
      body = JSON.parse(raw);
    } catch {
      throw new HttpError(400, 'the body is not JSON');
    }
    if (!endpoints.respond(id, body)) throw new HttpError(404, 'unknown response_url');
    json(res, 200, { ok: true });
  };
}

const notFound: Route = (req, _res, url) => {
  const method = req.method ?? 'GET';
  if (method !== 'POST') throw new HttpError(404, `no such page: ${url.pathname}`);
  throw new HttpError(404, `no such endpoint: ${method} ${url.pathname}`);
};

// ---- the table ----------------------------------------------------------------------------------

/** `METHOD path` to its route; `*` takes any method (the route may refuse some). */
type RouteTable = Map<string, Route>;
/** Routes for a family of paths, tried in order when no exact path matched. */
type PatternRoutes = Array<{ method: string; path: RegExp; route: Route }>;

function routeTable(endpoints: SandboxEndpoints, bodies: UserBodies, live: LiveUpdates): RouteTable {
  return new Map<string, Route>([
    ...Object.entries(PAGE_FILES).map(([path, page]): [string, Route] => [`GET ${path}`, pageFile(page)]),
    ['* /favicon.ico', favicon],
    ['* /slack/events', slackEvents(endpoints)],
    ['GET /sandbox/stream', (req, res) => live.open(req, res)],
    ['GET /sandbox/state', state(endpoints, bodies)],
    ['POST /sandbox/clock', advanceClock(endpoints)],
    ['POST /sandbox/outcome', setOutcome(endpoints)],
    ['POST /sandbox/slash', slash(endpoints, bodies)],
    ['POST /sandbox/action', click(endpoints, bodies)],
    ['POST /sandbox/home', home(endpoints, bodies)],
    ['POST /sandbox/home-action', homeClick(endpoints, bodies)],
    ['POST /sandbox/view', submitView(endpoints, bodies)],
    ['POST /sandbox/view-close', closeView(endpoints, bodies)],
    ['POST /sandbox/pause', pause(endpoints)],
    ['* /github/webhook', slackEvents(endpoints)],
    ...(endpoints.github ? githubRoutes(endpoints.github) : []),
  ]);
}

function patternRoutes(endpoints: SandboxEndpoints): PatternRoutes {
  return [
    { method: '*', path: /^\/api\//, route: slackApi(endpoints) },
    { method: 'POST', path: RESPONSE_URL, route: respond(endpoints) },
  ];
}

function findRoute(table: RouteTable, patterns: PatternRoutes, method: string, path: string): Route {
  const pattern = patterns.find((p) => (p.method === '*' || p.method === method) && p.path.test(path));
  return table.get(`${method} ${path}`) ?? table.get(`* ${path}`) ?? pattern?.route ?? notFound;
}

export function createSandboxRoutes(endpoints: SandboxEndpoints): SandboxRoutes {
  const bodies = userBodies(endpoints);
  const live = liveUpdates(endpoints.onChange);
  const table = routeTable(endpoints, bodies, live);
  const patterns = patternRoutes(endpoints);

  const route = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    await findRoute(table, patterns, req.method ?? 'GET', url.pathname)(req, res, url);
  };
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    route(req, res).catch((error: unknown) => {
      const status = error instanceof HttpError ? error.status : 500;
      const message = error instanceof Error ? error.message : String(error);
      if (!res.headersSent) json(res, status, { error: message });
      else res.end();
    });
  };
  return { handle, close: live.close };
}
