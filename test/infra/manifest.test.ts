import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { PROJECT_ROOT } from '../../infra/functions';

// bot/manifest.yml against the code that runs in AWS: the scopes are derived from the Slack Web
// API methods the deployed code calls, so a new call without its scope fails here.

interface Manifest {
  features: {
    app_home: { home_tab_enabled: boolean; messages_tab_enabled: boolean };
    bot_user: { display_name: string };
    slash_commands: Array<{ command: string; url: string; usage_hint: string }>;
  };
  oauth_config: { scopes: { bot: string[] } };
  settings: { interactivity: { is_enabled: boolean; request_url: string }; event_subscriptions: { request_url: string; bot_events: string[] } };
}

const manifest = parse(readFileSync(join(PROJECT_ROOT, 'bot/manifest.yml'), 'utf8')) as Manifest;
const REQUEST_URL = 'https://<function-url>/slack/events';

/** Slack's documented scope per method; `null`: the method needs none. */
const SCOPE_OF: Record<string, string | string[] | null> = {
  'chat.postMessage': 'chat:write',
  'chat.update': 'chat:write',
  'chat.postEphemeral': 'chat:write',
  'chat.delete': 'chat:write',
  'chat.getPermalink': null,
  'users.info': 'users:read',
  'conversations.info': 'channels:read',
  'conversations.history': 'channels:history',
  // The build channel may be public or private: both history scopes.
  'conversations.replies': ['channels:history', 'groups:history'],
  'reactions.add': 'reactions:write',
  'views.open': null,
  'views.update': null,
  'views.publish': null,
  'usergroups.users.list': 'usergroups:read',
};

/** Web API methods called by the code deployed to Lambda (not the sandbox's stand-in). */
function calledMethods(): Map<string, string> {
  const found = new Map<string, string>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.generated.ts')) {
        const code = readFileSync(path, 'utf8');
        for (const m of code.matchAll(/\bclient\.([a-z]+)\.([a-zA-Z]+(?:\.[a-zA-Z]+)?)\(|apiCall\(\s*'([a-z]+\.[a-zA-Z]+)'/g))
          found.set(m[3] ?? `${m[1]}.${m[2]}`, relative(PROJECT_ROOT, path));
      }
    }
  };
  for (const dir of ['bot', 'events', 'use-cases', 'adapters']) walk(join(PROJECT_ROOT, dir));
  return found;
}

describe('Slack app manifest', () => {
  it('declares /metal-build with a usage hint, sent to the Function URL path /slack/events', () => {
    expect(manifest.features.slash_commands).toHaveLength(1);
    const [command] = manifest.features.slash_commands;
    expect(command).toMatchObject({ command: '/metal-build', url: REQUEST_URL });
    expect(command!.usage_hint).toContain('<branch> [commit]');
    expect(manifest.features.bot_user.display_name).toBe('metal-build');
  });

  it('sends button clicks to the same URL', () => {
    expect(manifest.settings.interactivity).toEqual({ is_enabled: true, request_url: REQUEST_URL });
  });

  it('enables the Home tab and subscribes app_home_opened, and only it, at the same URL', () => {
    expect(manifest.features.app_home).toMatchObject({ home_tab_enabled: true, messages_tab_enabled: true });
    expect(manifest.settings.event_subscriptions).toEqual({ request_url: REQUEST_URL, bot_events: ['app_home_opened'] });
  });

  it('asks for exactly the scopes of the methods the bot and the event functions call', () => {
    const methods = calledMethods();
    // The scan sees the calls (adapters/slack/chat.ts posts the card).
    expect([...methods.keys()]).toEqual(expect.arrayContaining(['chat.postMessage', 'chat.update', 'chat.postEphemeral']));
    for (const [method, file] of methods) expect(Object.keys(SCOPE_OF), `${method} in ${file}: add it and its scope`).toContain(method);
    // chat.postMessage is the card itself (docs/design.md "Messages"), whatever the scan finds.
    const required = new Set(['commands', 'chat:write']);
    for (const method of methods.keys()) {
      const scope = SCOPE_OF[method];
      for (const s of scope === null || scope === undefined ? [] : [scope].flat()) required.add(s);
    }
    expect([...manifest.oauth_config.scopes.bot].sort()).toEqual([...required].sort());
  });
});
