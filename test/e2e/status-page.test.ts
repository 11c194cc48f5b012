import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { AgentChild } from '../helpers/agent-child.js';
import { W } from '../helpers/agent-harness.js';
import { PATIENCE } from '../helpers/cli.js';
import { startE2eWorld, type E2eWorld } from '../helpers/e2e-world.js';
import { skipWithout, TOOLS } from '../helpers/tools.js';

/** Where CI keeps the screenshots (an artefact a person looks at). */
const SHOTS = fileURLToPath(new URL('../../../.tmp/screenshots/', import.meta.url));
const EMULATED = (process.env.FLEET_AGENT_TEST_LAUNCHER ?? '') !== '';
const TOKEN = 'page-token-0123456789';
const SIZES = { phone: { width: 390, height: 844 }, laptop: { width: 1280, height: 800 } } as const;

describe(`the status page in headless Chromium (e2e)${EMULATED ? ' — skipped under emulation: x64 Chromium against an emulated agent' : ''}`, { skip: EMULATED ? 'x64 Chromium against an emulated agent' : skipWithout('chromium') }, () => {
  let world: E2eWorld;
  let agent: AgentChild;
  let browser: Browser;
  let url = '';

  before(async () => {
    world = await startE2eWorld();
    agent = world.spawn({ AGENT_HTTP_TOKEN: TOKEN, AGENT_LOG_LEVEL: 'info' });
    await agent.waitForLine((l) => l.msg === 'fleet-agent running');
    url = `http://127.0.0.1:${world.env.AGENT_HTTP_PORT}/`;
    // A recent action: an operator's identify, done.
    world.cloud.setDeviceTag(W.uuid, 'agent.identify', 'page-check-1');
    await world.sup.waitFor((r) => r.path === '/v1/blink', 30_000 * PATIENCE);
    await world.sup.waitFor((r) => r.method === 'PATCH' && r.path === '/v2/device/tags' && JSON.stringify(r.body ?? '').includes('page-check-1 done'), 30_000 * PATIENCE);
    // Something that waits: a fleet restart whose only wave starts in 2099.
    world.cloud.setFleetTag(W.appId, 'agent.restart', 'page-wave-1 from=2099-01-01T00:00Z');
    await world.sup.waitFor((r) => r.method === 'PATCH' && r.path === '/v2/device/tags' && JSON.stringify(r.body ?? '').includes('page-wave-1 scheduled 2099-01-01T00:00:00.000Z wave 1/1'), 30_000 * PATIENCE);
    world.sup.pushJournal({ message: 'an older line before the page opened', unit: 'main.service' });
    browser = await chromium.launch({
      executablePath: TOOLS.chromium,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    await mkdir(SHOTS, { recursive: true });
  });
  after(async () => {
    await browser?.close();
    await world.close();
  });

  async function open(size: keyof typeof SIZES): Promise<Page> {
    const page = await browser.newPage({ viewport: SIZES[size] });
    await page.goto(`${url}?token=${TOKEN}`);
    return page;
  }

  for (const size of ['phone', 'laptop'] as const) {
    it(`shows health, the recent action, a metric and live log lines at ${size} size (${SIZES[size].width} px)`, async () => {
      const page = await open(size);
      try {
        await page.locator('#state', { hasText: /^(ok|degraded|failing)$/ }).waitFor({ timeout: 10_000 });
        assert.match((await page.textContent('#state')) ?? '', /^(ok|degraded|failing)$/);
        // The token left the address bar, and later fetches still carry it.
        assert.equal(new URL(page.url()).searchParams.get('token'), null);
        await page.waitForSelector('#actions .action', { timeout: 10_000 });
        assert.match((await page.textContent('#actions')) ?? '', /identify.*done/s);
        assert.match((await page.textContent('#actions')) ?? '', /page-check-1/);
        assert.match((await page.textContent('#waiting')) ?? '', /restart.*starts .*fleet, token page-wave-1 · wave 1\/1/s);
        assert.match((await page.textContent('#window')) ?? '', /^No maintenance window/);
        await page.locator('#metrics', { hasText: 'Memory' }).waitFor({ timeout: 70_000 * PATIENCE });
        assert.match((await page.textContent('#metrics')) ?? '', /Memory\d+ %/);
        await page.locator('#tailstate', { hasText: /^live$/ }).waitFor({ timeout: 10_000 });
        assert.match((await page.textContent('#log')) ?? '', /an older line before the page opened/);
        world.sup.pushJournal({ message: `a live line for the ${size} page`, unit: 'main.service', priority: 4 });
        await page.locator('#log', { hasText: `a live line for the ${size} page` }).waitFor({ timeout: 10_000 });
        // The configuration is there, folded.
        assert.equal(await page.getAttribute('details', 'open'), null);
        const body = (await page.content()) + ((await page.textContent('#config')) ?? '');
        for (const secret of [W.deviceKey, W.supervisorKey, TOKEN]) assert.ok(!body.includes(secret), 'no secret on the page');
        await page.screenshot({ path: `${SHOTS}status-${size}.png`, fullPage: true });
      } finally {
        await page.close();
      }
    });
  }

  it('without the token the page is refused', async () => {
    const page = await browser.newPage();
    try {
      const res = await page.goto(url);
      assert.equal(res?.status(), 401);
    } finally {
      await page.close();
    }
  });
});
