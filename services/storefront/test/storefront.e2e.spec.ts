// The storefront and the dashboard in a real headless Chromium against a real system: the stock bar
// falls while a crowd of HTTP buyers runs, a click on Buy Now ends "confirmed", the item shows sold out,
// and the dashboard shows a non-zero orders/s during the sale. Screenshots go to test-results/ (and to
// docs/ with SCREENSHOTS_TO_DOCS=1, which `npm run screenshots` sets).
import { copyFileSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, type LaunchedBrowser } from './support/browser.js';
import { startSaleSystem, type SaleSystem } from './support/sale-system.js';

const RESULTS = fileURLToPath(new URL('../test-results/', import.meta.url));
const DOCS = fileURLToPath(new URL('../../../docs/', import.meta.url));
const run = Math.random().toString(16).slice(2, 8);
const HOT = { itemId: `sneakers-${run}`, title: 'Limited sneakers', stock: 400 };
const MINE = { itemId: `vinyl-${run}`, title: 'Signed vinyl', stock: 50 };
const LATER = { itemId: `console-${run}`, title: 'Game console', stock: 100 };

let system: SaleSystem;
let chromium: LaunchedBrowser;

beforeAll(async () => {
  mkdirSync(RESULTS, { recursive: true });
  [system, chromium] = await Promise.all([startSaleSystem(), launchChromium()]);
});
afterAll(async () => {
  await chromium?.close();
  await system?.stop();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function shot(page: Page, name: string, toDocs = false): Promise<void> {
  const file = `${RESULTS}${name}.png`;
  await page.screenshot({ path: file, fullPage: true });
  if (toDocs && process.env.SCREENSHOTS_TO_DOCS === '1') copyFileSync(file, `${DOCS}${name}.png`);
}

/** Sends `count` purchases of one item from distinct buyers, `perTick` every 100 ms; the statuses. */
async function crowd(itemId: string, count: number, perTick: number): Promise<number[]> {
  const answers: Promise<number>[] = [];
  for (let n = 0; n < count; n++) {
    answers.push(system.buy(itemId, `crowd-${run}-${n}`));
    if ((n + 1) % perTick === 0) await sleep(100);
  }
  return Promise.all(answers);
}

const barOf = (page: Page, title: string) => page.getByRole('progressbar', { name: `Stock of ${title}` });
const cardOf = (page: Page, itemId: string) => page.locator(`li.item[data-item-id="${itemId}"]`);

describe('storefront and dashboard in Chromium', () => {
  it('shows the stock fall, a confirmed purchase, sold out, and orders/s on the dashboard', async () => {
    await system.listItem(HOT);
    await system.listItem(MINE);
    await system.listItem({ ...LATER, startsAt: new Date(Date.now() + 120_000) });

    const context = await chromium.browser.newContext({ viewport: { width: 375, height: 900 } });
    const store = await context.newPage();
    const errors: string[] = [];
    // Script errors and CSP violations; refused requests (a 409 rejection, a 404) are answers, not errors.
    store.on('pageerror', (error) => errors.push(error.message));
    store.on('console', (message) => {
      if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) {
        errors.push(message.text());
      }
    });
    await store.goto(`${system.baseUrl}/`);
    const hotBar = barOf(store, HOT.title);
    await expect
      .poll(() => hotBar.getAttribute('aria-valuenow'), { timeout: 30_000 })
      .toBe(String(HOT.stock));
    await expect.poll(() => store.locator('#connection').textContent(), { timeout: 30_000 }).toBe('Live');
    // The later sale counts down and cannot be bought yet.
    const later = cardOf(store, LATER.itemId);
    await expect.poll(() => later.locator('.countdown').textContent()).toMatch(/^Opens in [12]:\d\d$/);
    expect(await later.getByRole('button').isDisabled()).toBe(true);

    const dashboardPage = await (
      await chromium.browser.newContext({ viewport: { width: 1200, height: 900 } })
    ).newPage();
    await dashboardPage.goto(`${system.baseUrl}/dashboard`);

    // A crowd of HTTP buyers buys more than the hot item has, over a few seconds.
    const load = crowd(HOT.itemId, HOT.stock + 100, 10);
    const seen: number[] = [];
    let maxRate = 0;
    let midSaleShots = false;
    while (seen.length < 400) {
      seen.push(Number(await hotBar.getAttribute('aria-valuenow')));
      maxRate = Math.max(maxRate, Number(await dashboardPage.locator('#orders-rate').textContent()));
      const last = seen.at(-1) ?? HOT.stock;
      if (!midSaleShots && last < HOT.stock * 0.7 && last > 0 && maxRate > 0) {
        midSaleShots = true;
        await shot(store, 'storefront', true);
        await shot(dashboardPage, 'dashboard', true);
      }
      if (last === 0 && maxRate > 0) break;
      await sleep(100);
    }
    const statuses = await load;
    expect(statuses.filter((s) => s === 202)).toHaveLength(HOT.stock);
    expect(statuses.filter((s) => s === 409)).toHaveLength(100);

    // The bar fell step by step, never rose, and ended at zero.
    const distinct = [...new Set(seen)];
    expect(distinct.length).toBeGreaterThan(2);
    expect(seen.every((value, i) => i === 0 || value <= (seen[i - 1] ?? value))).toBe(true);
    await expect.poll(() => hotBar.getAttribute('aria-valuenow'), { timeout: 30_000 }).toBe('0');
    expect(maxRate).toBeGreaterThan(0);

    // Sold out, the moment it happens.
    const hot = cardOf(store, HOT.itemId);
    await expect.poll(() => hot.locator('.stock-text').textContent(), { timeout: 30_000 }).toBe('Sold out');
    expect(await hot.getByRole('button').textContent()).toBe('Sold out');
    expect(await hot.getByRole('button').isDisabled()).toBe(true);
    await shot(store, 'storefront-sold-out');

    // A person buys one, with the keyboard: pending, then confirmed.
    const mine = cardOf(store, MINE.itemId);
    await mine.getByRole('button', { name: 'Buy now' }).focus();
    await store.keyboard.press('Enter');
    await expect
      .poll(() => mine.getByRole('status').textContent(), { timeout: 30_000 })
      .toBe(`Confirmed: ${MINE.title} is yours.`);
    await expect
      .poll(() => barOf(store, MINE.title).getAttribute('aria-valuenow'), { timeout: 30_000 })
      .toBe(String(MINE.stock - 1));
    // The limit is one per buyer: a second click is rejected, in words.
    await mine.getByRole('button', { name: 'Buy now' }).click();
    await expect
      .poll(() => mine.getByRole('status').textContent(), { timeout: 30_000 })
      .toBe('Rejected. You already have as many as one buyer may buy.');
    await shot(store, 'storefront-bought');

    // The dashboard has the item's sold units and the groups' lag.
    const hotRow = dashboardPage.getByRole('row', { name: new RegExp(HOT.title) });
    await expect.poll(() => hotRow.textContent(), { timeout: 30_000 }).toMatch(/0 of 400400sold out in/);
    await expect.poll(() => dashboardPage.locator('#lag-rows tr').count(), { timeout: 30_000 }).toBe(3);
    await shot(dashboardPage, 'dashboard-after');
    expect(errors).toEqual([]);
  });
});
