/** The text route's page in a real headless Chromium: type a question, read the ranked intents. */
import { existsSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../../../src/serving/server/app.js';
import { PackageDirectorySource } from '../../../src/serving/server/sources.js';
import { intentRoute, trainTextPackage } from './text-fixture.js';

const CHROMIUM = '/usr/bin/chromium';

describe.skipIf(!existsSync(CHROMIUM))('the intent page in Chromium', () => {
  let app: FastifyInstance;
  let base: string;
  let browser: Browser;
  beforeAll(async () => {
    app = buildServer({
      sources: [new PackageDirectorySource(await trainTextPackage())],
      textRoutes: [intentRoute],
    });
    await app.kiln.ready;
    base = await app.listen({ host: '127.0.0.1', port: 0 });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  it('shows the top intents with probabilities for a typed question', async () => {
    const page = await browser.newPage();
    await page.goto(`${base}/`);
    await page.fill('#text', "Est-ce que je peux le prendre enceinte, pendant l'allaitement ?");
    await page.click('button[type=submit]');
    const items = page.locator('#answer li');
    await items.first().waitFor();
    expect(await items.count()).toBe(3);
    expect(await items.first().getAttribute('data-label')).toBe('grossesse');
    const probabilities = await items.evaluateAll((lis) =>
      lis.map((li) => Number(li.getAttribute('data-probability'))),
    );
    expect(probabilities[0]).toBeGreaterThan(probabilities[1]);
    expect(await page.locator('#status').textContent()).toMatch(/^intent: grossesse \(\d+\.\d %\)$/);
    await page.close();
  });

  it('shows the server refusal for an empty-looking question', async () => {
    const page = await browser.newPage();
    await page.goto(`${base}/`);
    await page.fill('#text', '   ');
    // The textarea is `required`; spaces pass it, the server refuses them.
    await page.click('button[type=submit]');
    await page.locator('#status.error').waitFor();
    expect(await page.locator('#status').textContent()).toMatch(/\/question: empty/);
    await page.close();
  });
});
