/// <reference lib="dom" />
import { mkdirSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../sandbox/sandbox';
import { startSandbox } from '../../sandbox/sandbox';

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
    expect(errors).toEqual([]);
    await page.close();
  });

  // Continues in the channel the test above left: one completed build.
  it('is usable on a phone: the channel, the thread over it, the sandbox panel on demand', async () => {
    const { page, errors } = await open({ width: 390, height: 844 });
    await viewAs(page, 'U0REQUESTER');
    await page.locator('#messages .message').first().waitFor();
    expect(await page.locator('.sidebar').isVisible()).toBe(false);
    await page.screenshot({ path: `${SHOTS}/sandbox-phone-channel.png` });

    await page.locator('#messages .replies-link').first().click();
    await page.locator('#thread-body .message', { hasText: 'completed in' }).first().waitFor();
    await page.screenshot({ path: `${SHOTS}/sandbox-phone-thread.png` });
    await page.click('#thread-close');

    expect(await page.locator('#sandbox-panel').isVisible()).toBe(false);
    await page.click('#panel-toggle');
    await page.locator('#sandbox-panel').waitFor({ state: 'visible' });
    await page.screenshot({ path: `${SHOTS}/sandbox-phone-panel.png` });
    await page.click('#panel-close');
    expect(await page.locator('#sandbox-panel').isVisible()).toBe(false);

    // Nothing is wider than the screen.
    expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    expect(errors).toEqual([]);
    await page.close();
  });
});
