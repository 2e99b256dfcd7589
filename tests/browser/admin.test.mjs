// Browser test for the platform admin dashboard:
//
//   a workspace signs up, creates a bot, pairs the sandbox phone and chats with it (messages
//   flow through the pipeline into the roll-ups); a platform admin, made with
//   `whatsdex admin create` as an operator would, signs in and opens /admin/metrics: the
//   numbers and both SVG charts render, with no console errors; the workspace owner sees
//   their own analytics; a non-admin gets 404 on /admin/metrics.
//
// Run by scripts/test against a live `whatsdex serve`; WHATSDEX_BASE_URL points at it and
// WHATSDEX_DATA_DIR / WHATSDEX_BIN let the test create the admin in the same database.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DESKTOP, MOBILE, REPO_ROOT, baseUrl, launchBrowser, openPage, screenshot, visit } from './helpers.mjs';

const BASE = baseUrl();
const RUN = `${Date.now()}${Math.floor(Math.random() * 1000)}`;
const PASSWORD = 'violet kettle harbour 1987';
const OWNER = { name: 'Olga Admintest', email: `olga+${RUN}@example.com` };
const ADMIN = { email: `root+${RUN}@example.com`, password: 'sturdy lantern meadow 31' };
const WORKSPACE = `Metrics Bakery ${RUN}`;
const NAV_TIMEOUT = 30_000;

let ownerBrowser;
let phoneBrowser;
let adminBrowser;

before(async () => {
  ownerBrowser = await launchBrowser({ viewport: DESKTOP });
  phoneBrowser = await launchBrowser({ viewport: MOBILE });
  adminBrowser = await launchBrowser({ viewport: DESKTOP });
});

after(async () => {
  await ownerBrowser?.close();
  await phoneBrowser?.close();
  await adminBrowser?.close();
});

/** This environment without the database and cache settings: the served SQLite it is. */
function servedEnv() {
  const env = { ...process.env };
  for (const name of ['DATABASE_URL', 'MIGRATION_DATABASE_URL', 'REDIS_URL', 'ENCRYPTION_KEY']) delete env[name];
  return env;
}

async function submit(page, selector) {
  await Promise.all([
    page.waitForNavigation({ waitUntil: 'load', timeout: NAV_TIMEOUT }),
    page.click(selector),
  ]);
}

describe('admin: the platform metrics dashboard', () => {
  test('a workspace signs up and chats with its sandbox bot', async () => {
    const { page } = await openPage(ownerBrowser.context);
    await visit(page, `${BASE}/signup`);
    await page.fill('input[name=name]', OWNER.name);
    await page.fill('input[name=email]', OWNER.email);
    await page.fill('input[name=password]', PASSWORD);
    await page.fill('input[name=workspace_name]', WORKSPACE);
    await submit(page, 'button[type=submit]:has-text("Create account")');
    assert.equal(new URL(page.url()).pathname, '/onboarding/plan', 'sign-up opens the wizard');

    await visit(page, `${BASE}/bots`);
    await page.getByLabel('Bot name').fill('Till bot');
    await submit(page, 'button:has-text("Create and pair")');
    const link = page.locator('[data-testid=sandbox-link]');
    await link.waitFor({ state: 'attached', timeout: NAV_TIMEOUT });
    const pairUrl = await link.getAttribute('href');
    assert.match(pairUrl, /\/sandbox\/pair\//);

    const phone = (await openPage(phoneBrowser.context)).page;
    await visit(phone, pairUrl);
    await phone.fill('input[name=name]', 'Carl');
    await phone.fill('input[name=number]', `+351 91${RUN.slice(-7)}`);
    await submit(phone, 'button:has-text("Pair this phone")');
    assert.match(new URL(phone.url()).pathname, /^\/sandbox\/phone\//);
    for (const text of ['ping', 'hello', 'ping']) {
      await phone.fill('#message', text);
      await phone.click('form.compose button[type=submit]');
      await phone.waitForTimeout(300);
    }
    // Two pings, two pongs.
    await phone.waitForFunction(() => document.body.innerText.split('pong').length - 1 >= 2, null, {
      timeout: NAV_TIMEOUT,
    });

    await visit(page, `${BASE}/analytics`);
    assert.equal(await page.locator('[data-testid=bot-chart] svg:visible').count(), 1, 'a chart for the bot');
    assert.match(await page.locator('[data-testid=top-commands]').innerText(), /ping · 2/);
    await screenshot(page, 'analytics.png');

    const refused = await visit(page, `${BASE}/admin/metrics`);
    assert.equal(refused.status(), 404, 'a workspace owner is no platform admin');
  });

  test('a platform admin sees the numbers and the charts', async () => {
    const bin = process.env.WHATSDEX_BIN || path.join(REPO_ROOT, 'target', 'debug', 'whatsdex');
    const dataDir = process.env.WHATSDEX_DATA_DIR;
    assert.ok(dataDir, 'WHATSDEX_DATA_DIR names the served DATA_DIR (scripts/test sets it)');
    const made = spawnSync(bin, ['admin', 'create', '--email', ADMIN.email], {
      input: `${ADMIN.password}\n`,
      env: { ...servedEnv(), DATA_DIR: dataDir, LOG_FORMAT: 'json' },
      encoding: 'utf8',
    });
    assert.equal(made.status, 0, `admin create: ${made.stderr}`);

    const session = await openPage(adminBrowser.context);
    const { page } = session;
    await visit(page, `${BASE}/login`);
    await page.fill('input[name=email]', ADMIN.email);
    await page.fill('input[name=password]', ADMIN.password);
    await submit(page, 'main button[type=submit]');
    await page.click('[data-testid=admin-link]');
    await page.waitForURL((url) => url.pathname === '/admin/metrics', { timeout: NAV_TIMEOUT });
    await page.waitForLoadState('networkidle', { timeout: 10_000 }).catch(() => {});

    const number = async (id) => Number((await page.locator(`[data-testid=${id}]`).innerText()).replace(/[$,]/g, ''));
    assert.ok((await number('tenants-total')) >= 1, 'tenants counted');
    assert.ok((await number('messages-today')) >= 5, 'our 3 messages in and 2 replies counted');
    assert.ok((await number('tenants-active')) >= 1);
    assert.equal(await page.locator('[data-testid=messages-chart] svg:visible').count(), 1);
    assert.equal(await page.locator('[data-testid=signups-chart] svg:visible').count(), 1);
    const bars = await page.locator('[data-testid=messages-chart] svg:visible rect').count();
    assert.ok(bars >= 2, `the messages chart draws bars (${bars} rects)`);
    assert.match(await page.locator('[data-testid=top-tenants]').innerText(), new RegExp(WORKSPACE));
    await screenshot(page, 'admin-metrics.png');
    assert.deepEqual(session.problems(), [], 'no console errors, page errors or failed requests');

    await page.click(`[data-testid=top-tenants] a:has-text("${WORKSPACE}")`);
    await page.waitForURL((url) => url.pathname.startsWith('/admin/tenants/'), { timeout: NAV_TIMEOUT });
    assert.match(await page.locator('main h1').innerText(), new RegExp(WORKSPACE));
    await screenshot(page, 'admin-tenant.png');
  });
});
