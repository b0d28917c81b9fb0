/// <reference lib="dom" />
import { mkdirSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../sandbox/sandbox';
import { startSandbox } from '../../sandbox/sandbox';
import { SandboxClient } from '../sandbox/sandbox-client';

// The sandbox page in Debian's Chromium (no browser download): Riley requests a build, Avery
// approves it through the confirm dialog, the thread reaches completion. Screenshots go to
// test-results/ (gitignored), for people to look at. Browser-side code is passed as strings:
// the project's TypeScript has no DOM library.

const SHOTS = 'test-results';
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

let sandbox: Sandbox;
let browser: Browser;

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  sandbox = await startSandbox({ port: 0, dynamodbPort: 0, speed: 60, outcome: 'success', logSink: () => {} });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});

afterAll(async () => {
  await browser?.close();
  await sandbox?.close();
});

async function open(viewport: { width: number; height: number }): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport });
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  await page.goto(`${sandbox.url}/`);
  await page.waitForSelector('#user-switch option', { state: 'attached' });
  return { page, errors };
}

async function viewAs(page: Page, user: string): Promise<void> {
  const fetched = page.waitForResponse((r) => r.url().includes(`/sandbox/state?user=${user}`));
  await page.selectOption('#user-switch', user);
  await fetched;
  // The render follows the response in the same task; one frame later the DOM is drawn.
  await page.evaluate('new Promise((resolve) => requestAnimationFrame(resolve))');
}

describe('the sandbox in a browser', () => {
  it('requests as Riley, approves as Avery through the confirm dialog, and shows the build completing', async () => {
    const { page, errors } = await open({ width: 1440, height: 900 });
    await viewAs(page, 'U0REQUESTER');

    await page.fill('#composer-input', '/metal-build main abc1234');
    await page.press('#composer-input', 'Enter');
    const card = page.locator('#messages .message', { has: page.locator('.block-header') });
    await card.first().waitFor();
    expect(await card.first().textContent()).toContain('Awaiting approval');
    const rileysEphemeral = page.locator('#messages .message.ephemeral');
    await rileysEphemeral.first().waitFor();
    expect(await rileysEphemeral.first().textContent()).toContain('Only visible to you');
    await page.screenshot({ path: `${SHOTS}/sandbox-desktop-requested.png` });

    // Waiting on Avery runs at real time: the request does not expire while people switch.
    expect(await page.locator('#speed').getAttribute('data-rate')).toBe('1');

    await viewAs(page, 'U0APPROVER');
    expect(await page.locator('#messages .message.ephemeral').count()).toBe(0);
    expect(await page.locator('#messages .message').count()).toBe(1);

    await page.getByRole('button', { name: 'Approve', exact: true }).click();
    await page.locator('#modal').waitFor({ state: 'visible' });
    expect(await page.locator('#modal-text').textContent()).toContain('Maximum cost $11.83');
    await page.screenshot({ path: `${SHOTS}/sandbox-desktop-confirm.png` });
    await page.click('#modal-confirm');

    const repliesLink = page.locator('#messages .replies-link').first();
    await repliesLink.waitFor();
    await repliesLink.click();
    await page.locator('#thread-body .message', { hasText: 'Approved by' }).first().waitFor();

    // Ninety simulated minutes pass in about 90 s at this speed; the panel's buttons are quicker.
    await page.click('button[data-advance="60"]');
    await page.locator('button[data-advance="60"]:not([disabled])').waitFor();
    await page.click('button[data-advance="60"]');
    const completed = page.locator('#thread-body .message', { hasText: 'completed in' });
    await completed.first().waitFor({ timeout: 60_000 });
    expect(await completed.first().textContent()).toContain('@Riley');
    await page.locator('#rows .badge.completed').first().waitFor();
    await page.locator('#instances .badge.terminated').first().waitFor();
    await page.screenshot({ path: `${SHOTS}/sandbox-desktop-completed.png` });

    // Avery never saw Riley's reply to the command; Riley still does.
    expect(await page.locator('#messages .message.ephemeral').count()).toBe(0);
    await viewAs(page, 'U0REQUESTER');
    expect(await page.locator('#messages .message.ephemeral').count()).toBeGreaterThan(0);

    // `status <id>` names the channel as Slack does (#builds, not its id), in view.
    const buildId = await page.locator('#rows [data-row]').first().getAttribute('data-row');
    await page.fill('#composer-input', `/metal-build status ${buildId}`);
    await page.press('#composer-input', 'Enter');
    const statusReply = page.locator('#messages .message.ephemeral', { hasText: 'thread in' }).last();
    await statusReply.waitFor();
    expect(await statusReply.locator('.channel-mention').textContent()).toBe('#builds');
    expect(await statusReply.textContent()).not.toContain('C0SANDBOX');
    const inView = await page.evaluate<boolean>(`(() => {
      const list = document.getElementById('messages').getBoundingClientRect();
      const nodes = [...document.querySelectorAll('#messages .message.ephemeral')];
      const r = nodes[nodes.length - 1].getBoundingClientRect();
      return r.top >= list.top - 1 && r.bottom <= list.bottom + 1;
    })()`);
    expect(inView).toBe(true);
    // The table panel says what the bookkeeping items are instead of listing them as builds.
    expect(await page.locator('#rows .table-note summary').textContent()).toContain('slots held');
    expect(await page.locator('#rows [data-row^="#"]').count()).toBe(0);
    expect(errors).toEqual([]);
    await page.close();
  });

  // Continues in the channel the test above left: one completed build.
  it('shows an ephemeral posted with thread_ts in the thread panel, in view', async () => {
    const { page, errors } = await open({ width: 1440, height: 900 });
    await viewAs(page, 'U0REQUESTER');
    const link = page.locator('#messages .replies-link').first();
    await link.waitFor();
    const threadTs = await link.getAttribute('data-thread');
    // The channel scrolled away from the thread's end: the reply must still come into view.
    await link.click();
    await page.locator('#thread-body .message').first().waitFor();
    await page.evaluate(`document.getElementById('thread-body').scrollTop = 0`);
    const posted = await fetch(`${sandbox.url}/api/chat.postEphemeral`, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8', authorization: 'Bearer xoxb-test-sandbox-token' },
      body: JSON.stringify({ channel: 'C0SANDBOX', user: 'U0REQUESTER', thread_ts: threadTs, text: 'Only you can see this, in the thread.' }),
    });
    expect(((await posted.json()) as { ok: boolean }).ok).toBe(true);
    const reply = page.locator('#thread-body .message.ephemeral', { hasText: 'in the thread.' });
    await reply.waitFor();
    expect(await page.locator('#messages .message', { hasText: 'in the thread.' }).count()).toBe(0);
    const inView = await page.evaluate<boolean>(`(() => {
      const body = document.getElementById('thread-body').getBoundingClientRect();
      const nodes = [...document.querySelectorAll('#thread-body .message.ephemeral')];
      const r = nodes[nodes.length - 1].getBoundingClientRect();
      return r.top >= body.top - 1 && r.bottom <= body.bottom + 1;
    })()`);
    expect(inView).toBe(true);
    await page.screenshot({ path: `${SHOTS}/sandbox-desktop-thread-ephemeral.png` });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('is usable on a phone: the channel, the thread over it, the sandbox panel on demand', async () => {
    const { page, errors } = await open({ width: 390, height: 844 });
    await viewAs(page, 'U0REQUESTER');
    await page.locator('#messages .message').first().waitFor();
    expect(await page.locator('.sidebar').isVisible()).toBe(false);
    await page.screenshot({ path: `${SHOTS}/sandbox-phone-channel.png` });

    await page.locator('#messages .replies-link').first().click();
    await page.locator('#thread-body .message', { hasText: 'completed in' }).first().waitFor();
    await page.screenshot({ path: `${SHOTS}/sandbox-phone-thread.png` });
    // A reply posted in the channel (no thread_ts) while the thread covers it: the thread steps aside.
    const posted = await fetch(`${sandbox.url}/api/chat.postEphemeral`, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8', authorization: 'Bearer xoxb-test-sandbox-token' },
      body: JSON.stringify({ channel: 'C0SANDBOX', user: 'U0REQUESTER', text: 'Only you can see this, in the channel.' }),
    });
    expect(((await posted.json()) as { ok: boolean }).ok).toBe(true);
    await page.locator('#thread').waitFor({ state: 'hidden' });
    const reply = page.locator('#messages .message.ephemeral', { hasText: 'in the channel.' });
    await reply.waitFor();
    expect(await reply.isVisible()).toBe(true);
    await page.screenshot({ path: `${SHOTS}/sandbox-phone-channel-ephemeral.png` });

    expect(await page.locator('#sandbox-panel').isVisible()).toBe(false);
    await page.click('#panel-toggle');
    await page.locator('#sandbox-panel').waitFor({ state: 'visible' });
    await page.screenshot({ path: `${SHOTS}/sandbox-phone-panel.png` });
    await page.click('#panel-close');
    expect(await page.locator('#sandbox-panel').isVisible()).toBe(false);

    // No sidebar on a phone: the header's button opens the app, and another leads back.
    await page.click('.channel-header .pane-switch[data-pane="app"]');
    await page.locator('#home-view [data-action-id="home_refresh"]').waitFor();
    await page.screenshot({ path: `${SHOTS}/sandbox-phone-home.png` });
    await page.click('#app-pane .pane-switch[data-pane="channel"]');
    await page.locator('#messages').waitFor({ state: 'visible' });

    // Nothing is wider than the screen.
    expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    expect(errors).toEqual([]);
    await page.close();
  });
  it("shows the requester's direct message, the Home tab with a working New build dialog, and Pause", async () => {
    const client = new SandboxClient(sandbox.url, sandbox.dynamodbEndpoint);
    // A build of Riley's that ends: the bot tells Riley by direct message.
    const { buildId } = await client.requestAndApprove('U0REQUESTER', 'U0APPROVER');
    await client.advance(100);
    client.close();

    const { page, errors } = await open({ width: 1440, height: 900 });
    await viewAs(page, 'U0REQUESTER');
    await page.locator('#dm-unread:not([hidden])').waitFor();

    // Apps → metal-build opens Home: the page sends app_home_opened, the bot publishes the view.
    await page.click('#nav-app');
    const newBuild = page.locator('#home-view [data-action-id="home_new_build"]');
    // The Home last published shows at once (as in Slack); the fresh one, with this build, follows.
    await page.locator('#home-view', { hasText: buildId }).waitFor();
    await newBuild.waitFor();
    await page.screenshot({ path: `${SHOTS}/sandbox-desktop-home.png` });

    await page.click('#tab-messages');
    const dm = page.locator('#dm-messages .message', { hasText: buildId });
    await dm.first().waitFor();
    expect(await dm.first().textContent()).toContain('Your build');
    await page.locator('#dm-unread').waitFor({ state: 'hidden' });
    await page.screenshot({ path: `${SHOTS}/sandbox-desktop-direct-message.png` });

    // Home's New build: the dialog the bot opened, filled in and submitted.
    await page.click('#tab-home');
    await newBuild.click();
    await page.locator('#view-modal').waitFor({ state: 'visible' });
    expect(await page.locator('#view-modal').getAttribute('data-callback-id')).toBe('new_build');
    await page.fill('#view-field-branch', 'release/2.0');
    for (const id of ['#view-field-type', '#view-field-hours']) if ((await page.locator(id).inputValue()) === '') await page.selectOption(id, { index: 1 });
    await page.screenshot({ path: `${SHOTS}/sandbox-desktop-new-build.png` });
    await page.click('#view-modal-submit');
    await page.locator('#view-modal-title', { hasText: 'Build requested' }).waitFor();
    await page.click('#view-modal-close');
    await page.locator('#view-modal').waitFor({ state: 'hidden' });
    await page.click('#nav-channel');
    await page.locator('#messages .message', { hasText: 'release/2.0' }).first().waitFor();

    // Pause: simulated time stands still until Resume.
    await page.click('#pause');
    await page.locator('#speed[data-rate="0"]').waitFor();
    expect(await page.locator('#pause').textContent()).toBe('Resume');
    const at = async () => ((await (await fetch(`${sandbox.url}/sandbox/state`)).json()) as { now: string }).now;
    const paused = await at();
    await page.waitForTimeout(600);
    expect(await at()).toBe(paused);
    await page.screenshot({ path: `${SHOTS}/sandbox-desktop-paused.png` });
    await page.click('#pause');
    await page.locator('#speed:not([data-rate="0"])').waitFor();
    expect(await page.locator('#pause').textContent()).toBe('Pause');
    expect(errors).toEqual([]);
    await page.close();
  });
});
