// Browser test of what owners do to their bots and what others may only look at:
//
//   Ana (desktop) signs up, creates "Till bot" and pairs it from her phone (a second browser,
//   phone size), whose chat stays open. The bots table links each name to the bot's
//   settings, where Ana renames it. Deleting a bot asks first, in a dialog; cancelling keeps
//   it. Unpairing asks too, and the phone's open chat then says the bot was unpaired, with a
//   link back to it. Without JavaScript (a third browser) the same buttons lead to a
//   confirmation page. Bea joins as a member and sees the settings read only. A platform
//   admin, made with `whatsdex admin create`, lands on the admin area after signing in.
//
// The steps share state and run in order. Run by scripts/test against a live `whatsdex serve`;
// WHATSDEX_DATA_DIR / WHATSDEX_BIN let the last step create the admin in the same database.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  baseUrl,
  clickAndWait,
  DESKTOP,
  launchBrowser,
  MOBILE,
  openPage,
  REPO_ROOT,
  screenshot,
  sidewaysScroll,
  visit,
} from './helpers.mjs';

const BASE = baseUrl();
const RUN = `${Date.now()}${Math.floor(Math.random() * 1000)}`;
const PASSWORD = 'violet kettle harbour 1987';
const ANA = { name: 'Ana Lima', email: `ana.actions+${RUN}@example.com` };
const BEA = { name: 'Bea Souza', email: `bea.actions+${RUN}@example.com` };
const ADMIN = { email: `root.actions+${RUN}@example.com`, password: 'sturdy lantern meadow 31' };
const WORKSPACE = `Lima Deli ${RUN}`;
const NAV_TIMEOUT = 30_000;
const LIVE_TIMEOUT = 15_000;

let anaBrowser;
let phoneBrowser;
let noJsBrowser;
let beaBrowser;
let adminBrowser;
let ana;
let phone;
let botId;
let phoneUrl;

before(async () => {
  anaBrowser = await launchBrowser({ viewport: DESKTOP });
  phoneBrowser = await launchBrowser({ viewport: MOBILE });
  noJsBrowser = await launchBrowser({ viewport: DESKTOP, javaScriptEnabled: false });
  beaBrowser = await launchBrowser({ viewport: DESKTOP });
  adminBrowser = await launchBrowser({ viewport: DESKTOP });
  ana = await openPage(anaBrowser.context);
  phone = await openPage(phoneBrowser.context);
});

after(async () => {
  for (const b of [anaBrowser, phoneBrowser, noJsBrowser, beaBrowser, adminBrowser]) await b?.close();
});

/** Sign up a new account with its own workspace; ends wherever sign-up leads. */
async function signUp(page, who) {
  await visit(page, `${BASE}/signup`);
  await page.fill('input[name=name]', who.name);
  await page.fill('input[name=email]', who.email);
  await page.fill('input[name=password]', PASSWORD);
  if (await page.locator('input[name=workspace_name]').count()) {
    await page.fill('input[name=workspace_name]', WORKSPACE);
  }
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.waitForURL((url) => url.pathname !== '/signup', { timeout: NAV_TIMEOUT });
}

/** Create a sandbox bot from the bots page; returns its id (the pairing page is open). */
async function createBot(page, name) {
  await visit(page, `${BASE}/bots`);
  await page.getByLabel('Bot name').fill(name);
  await clickAndWait(page, page.getByRole('button', { name: 'Create and pair' }), /^\/bots\/[^/]+\/pair$/);
  return new URL(page.url()).pathname.split('/')[2];
}

/** Problems other than polls aborted by navigation and the 4xx documents asked for. */
function unexpected(session, statuses = []) {
  return session
    .problems()
    .filter((p) => !/net::ERR_ABORTED$/.test(p))
    .filter((p) => !statuses.some((s) => p.includes(`status of ${s}`)));
}

describe('actions: confirmations, rename, read-only settings, admin landing', () => {
  test('Ana creates "Till bot" and pairs it from her phone, whose chat stays open', async () => {
    const { page } = ana;
    await signUp(page, ANA);
    botId = await createBot(page, 'Till bot');
    const link = page.getByTestId('sandbox-link');
    await link.waitFor({ state: 'attached', timeout: NAV_TIMEOUT });
    const pairUrl = await link.getAttribute('href');
    await visit(phone.page, pairUrl);
    await phone.page.fill('input[name=name]', 'Ana');
    await phone.page.fill('input[name=number]', `+44 7700 9${RUN.slice(-5)}`);
    await clickAndWait(phone.page, phone.page.getByRole('button', { name: 'Pair this phone' }), /^\/sandbox\/phone\//);
    phoneUrl = phone.page.url();
    await page.getByText(/^Connected as/).waitFor({ timeout: LIVE_TIMEOUT });
  });

  test('the New-bot form lines its fields up, and fits a phone', async () => {
    const { page } = ana;
    await visit(page, `${BASE}/bots`);
    const name = await page.getByLabel('Bot name').boundingBox();
    const transport = await page.getByLabel('Connect to').boundingBox();
    const button = await page.getByRole('button', { name: 'Create and pair' }).boundingBox();
    assert.ok(Math.abs(name.y - transport.y) <= 1, `name at ${name.y}, select at ${transport.y}`);
    assert.ok(Math.abs(name.height - transport.height) <= 2, 'the same height');
    assert.ok(Math.abs(button.y + button.height - (name.y + name.height)) <= 2, 'the button on their line');
    await screenshot(page, 'bots-new-bot.png');
    await page.setViewportSize(MOBILE);
    assert.ok((await sidewaysScroll(page)) <= 1, '/bots fits a phone');
    const nameM = await page.getByLabel('Bot name').boundingBox();
    const transportM = await page.getByLabel('Connect to').boundingBox();
    assert.ok(transportM.y > nameM.y + nameM.height, 'stacked on a phone');
    assert.ok(Math.abs(transportM.x - nameM.x) <= 1, 'left-aligned on a phone');
    await screenshot(page, 'bots-new-bot-mobile.png');
    await page.setViewportSize(DESKTOP);
  });

  test("a bot's name leads to its settings, where it is renamed", async () => {
    const { page } = ana;
    await visit(page, `${BASE}/bots`);
    await clickAndWait(page, page.getByRole('link', { name: 'Till bot', exact: true }), `/bots/${botId}/settings`);
    const rename = page.locator(`form[action="/bots/${botId}/rename"]`);
    await rename.getByLabel('Bot name').fill('   ');
    const refused = await clickAndWait(page, rename.getByRole('button', { name: 'Rename' }), `/bots/${botId}/rename`);
    assert.equal(refused.status(), 422);
    assert.equal(await page.locator('#name-error').innerText(), 'Enter a bot name.');
    await page.locator(`form[action="/bots/${botId}/rename"]`).getByLabel('Bot name').fill('Counter bot');
    await clickAndWait(
      page,
      page.locator(`form[action="/bots/${botId}/rename"]`).getByRole('button', { name: 'Rename' }),
      `/bots/${botId}/settings`,
    );
    assert.equal((await page.locator('main h1').innerText()).trim(), 'Counter bot settings');
    assert.match(await page.locator('.notice').innerText(), /Bot renamed/);
    await screenshot(page, 'bot-settings-rename.png');
    await page.setViewportSize(MOBILE);
    assert.ok((await sidewaysScroll(page)) <= 1, 'settings fit a phone');
    await screenshot(page, 'bot-settings-rename-mobile.png');
    await page.setViewportSize(DESKTOP);
    await visit(page, `${BASE}/dashboard`);
    await clickAndWait(page, page.getByRole('link', { name: 'Counter bot', exact: true }), `/bots/${botId}/settings`);
  });

  test('Delete asks first in a dialog; Cancel keeps the bot, confirming deletes it', async () => {
    const { page } = ana;
    const spareId = await createBot(page, 'Spare bot');
    await visit(page, `${BASE}/bots`);
    const row = page.locator(`tr[data-bot="${spareId}"]`);
    await row.getByRole('button', { name: 'Delete Spare bot' }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete Spare bot?' });
    await dialog.waitFor({ state: 'visible', timeout: LIVE_TIMEOUT });
    assert.equal(await dialog.evaluate((d) => d.matches(':modal')), true, 'a modal dialog');
    assert.match(await dialog.innerText(), /cannot be undone/);
    await screenshot(page, 'confirm-delete-dialog.png');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'detached', timeout: LIVE_TIMEOUT });
    assert.equal(new URL(page.url()).pathname, '/bots', 'still on the bots page');
    assert.equal(await row.count(), 1, 'the bot is still there');

    await page.setViewportSize(MOBILE);
    await row.getByRole('button', { name: 'Delete Spare bot' }).click();
    await dialog.waitFor({ state: 'visible', timeout: LIVE_TIMEOUT });
    assert.ok((await sidewaysScroll(page)) <= 1, 'the dialog fits a phone');
    await screenshot(page, 'confirm-delete-dialog-mobile.png');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached', timeout: LIVE_TIMEOUT });
    await page.setViewportSize(DESKTOP);

    await row.getByRole('button', { name: 'Delete Spare bot' }).click();
    await clickAndWait(page, dialog.getByRole('button', { name: 'Delete bot' }), '/bots');
    assert.equal(new URL(page.url()).searchParams.get('notice'), 'bot_deleted');
    assert.equal(await page.locator(`tr[data-bot="${spareId}"]`).count(), 0, 'deleted');
    assert.equal(await page.locator(`tr[data-bot="${botId}"]`).count(), 1, 'the other bot stays');
  });

  test("Unpair asks first; the phone's open chat then says the bot was unpaired", async () => {
    const { page } = ana;
    assert.equal(new URL(phone.page.url()).pathname, new URL(phoneUrl).pathname, 'the chat is open');
    await visit(page, `${BASE}/bots`);
    await page.locator(`tr[data-bot="${botId}"]`).getByRole('button', { name: 'Unpair Counter bot' }).click();
    const dialog = page.getByRole('dialog', { name: 'Unpair Counter bot?' });
    await dialog.waitFor({ state: 'visible', timeout: LIVE_TIMEOUT });
    await clickAndWait(page, dialog.getByRole('button', { name: 'Unpair' }), '/bots');
    assert.equal(new URL(page.url()).searchParams.get('notice'), 'bot_unpaired');

    // The phone was not touched: its polling brings the news.
    const gone = phone.page.getByTestId('sandbox-unpaired');
    await gone.waitFor({ state: 'visible', timeout: LIVE_TIMEOUT });
    assert.match(await phone.page.locator('main h1').innerText(), /Counter bot was unpaired/);
    const back = phone.page.getByRole('button', { name: 'Go to Counter bot' });
    assert.equal(await back.getAttribute('href'), `/bots/${botId}/pair`);
    assert.ok((await sidewaysScroll(phone.page)) <= 1);
    await screenshot(phone.page, 'sandbox-unpaired-mobile.png');
    assert.deepEqual(unexpected(phone, [410]), [], 'the phone: only the 410 page itself');
  });

  test('without JavaScript, Delete leads to a confirmation page', async () => {
    const session = await openPage(noJsBrowser.context);
    const { page } = session;
    await visit(page, `${BASE}/login`);
    await page.fill('input[name=email]', ANA.email);
    await page.fill('input[name=password]', PASSWORD);
    await clickAndWait(page, page.locator('main').getByRole('button', { name: 'Sign in' }), '/dashboard');
    const id = await createBot(page, 'Plain bot');
    await visit(page, `${BASE}/bots`);
    const row = page.locator(`tr[data-bot="${id}"]`);
    await clickAndWait(page, row.getByRole('button', { name: 'Delete Plain bot' }), `/bots/${id}/delete`);
    assert.equal((await page.locator('main h1').innerText()).trim(), 'Delete Plain bot?');
    await screenshot(page, 'confirm-delete-page.png');
    await clickAndWait(page, page.getByRole('button', { name: 'Cancel' }), '/bots');
    assert.equal(await row.count(), 1, 'Cancel keeps the bot');
    await clickAndWait(page, row.getByRole('button', { name: 'Delete Plain bot' }), `/bots/${id}/delete`);
    await clickAndWait(page, page.getByRole('button', { name: 'Delete bot' }), '/bots');
    assert.equal(await page.locator(`tr[data-bot="${id}"]`).count(), 0, 'deleted');
    await page.setViewportSize(MOBILE);
    await visit(page, `${BASE}/account/sign-out-everywhere`);
    assert.equal((await page.locator('main h1').innerText()).trim(), 'Sign out everywhere?');
    assert.ok((await sidewaysScroll(page).catch(() => 0)) <= 1);
    await screenshot(page, 'confirm-page-mobile.png');
    assert.deepEqual(unexpected(session), []);
  });

  test('Bea, a member, sees the settings read only', async () => {
    const { page } = ana;
    await visit(page, `${BASE}/workspace/members`);
    const form = page.locator('form[action="/workspace/members/invite"]');
    await form.locator('input[name=email]').fill(BEA.email);
    await form.locator('select[name=role]').selectOption('member');
    await clickAndWait(page, form.getByRole('button', { name: 'Send invitation' }), '/workspace/members/invite');
    const invitation = await page.locator('[data-testid=invite-link] input').inputValue();

    const bea = await openPage(beaBrowser.context);
    await visit(bea.page, invitation);
    await bea.page.getByRole('button', { name: 'Create an account and join' }).click();
    await bea.page.waitForURL((url) => url.pathname === '/signup', { timeout: NAV_TIMEOUT });
    await bea.page.fill('input[name=name]', BEA.name);
    await bea.page.fill('input[name=password]', PASSWORD);
    await clickAndWait(bea.page, bea.page.getByRole('button', { name: 'Create account' }), '/dashboard');

    await visit(bea.page, `${BASE}/bots/${botId}/settings`);
    const main = bea.page.locator('main');
    await bea.page.getByTestId('settings-read-only').waitFor({ state: 'visible' });
    assert.equal(await main.locator('input, textarea, select, button, form').count(), 0, 'nothing to edit or press');
    assert.match(await main.innerText(), /Owners and admins can change these settings/);
    await screenshot(bea.page, 'bot-settings-member.png');
    await bea.page.setViewportSize(MOBILE);
    assert.ok((await sidewaysScroll(bea.page)) <= 1, 'the read-only view fits a phone');
    await screenshot(bea.page, 'bot-settings-member-mobile.png');

    await visit(bea.page, `${BASE}/bots`);
    assert.equal(await bea.page.getByRole('button', { name: /^(Delete|Unpair) / }).count(), 0);
    assert.deepEqual(unexpected(bea), []);

    // Ana's members page: removing Bea asks first too.
    await visit(page, `${BASE}/workspace/members`);
    const beaRow = page.locator(`tr[data-member="${BEA.email}"]`);
    await beaRow.getByRole('button', { name: `Remove ${BEA.name}` }).click();
    const dialog = page.getByRole('dialog', { name: `Remove ${BEA.name} from ${WORKSPACE}?` });
    await dialog.waitFor({ state: 'visible', timeout: LIVE_TIMEOUT });
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'detached', timeout: LIVE_TIMEOUT });
    assert.equal(await beaRow.count(), 1, 'Bea is still a member');
    await screenshot(page, 'members-actions.png');
    await page.setViewportSize(MOBILE);
    assert.ok((await sidewaysScroll(page)) <= 1, 'the members page fits a phone');
    await screenshot(page, 'members-actions-mobile.png');
    await page.setViewportSize(DESKTOP);
  });

  test('a platform admin lands on the admin area after signing in', async () => {
    const bin = process.env.WHATSDEX_BIN || path.join(REPO_ROOT, 'target', 'debug', 'whatsdex');
    const dataDir = process.env.WHATSDEX_DATA_DIR;
    assert.ok(dataDir, 'WHATSDEX_DATA_DIR names the served DATA_DIR (scripts/test sets it)');
    const env = { ...process.env, DATA_DIR: dataDir, LOG_FORMAT: 'json' };
    for (const name of ['DATABASE_URL', 'MIGRATION_DATABASE_URL', 'REDIS_URL', 'ENCRYPTION_KEY']) delete env[name];
    const made = spawnSync(bin, ['admin', 'create', '--email', ADMIN.email], {
      input: `${ADMIN.password}\n`,
      env,
      encoding: 'utf8',
    });
    assert.equal(made.status, 0, `admin create: ${made.stderr}`);

    const session = await openPage(adminBrowser.context);
    const { page } = session;
    await visit(page, `${BASE}/login`);
    await page.fill('input[name=email]', ADMIN.email);
    await page.fill('input[name=password]', ADMIN.password);
    await clickAndWait(page, page.locator('main').getByRole('button', { name: 'Sign in' }), '/admin/metrics');
    assert.notEqual(new URL(page.url()).pathname, '/workspaces/new');
    await page.waitForLoadState('networkidle', { timeout: 10_000 }).catch(() => {});
    await screenshot(page, 'admin-landing.png');
    assert.deepEqual(unexpected(session), []);
  });

  test("Ana's browser: no console errors, page errors or failed requests", () => {
    // The rename refused with 422 is the one error document asked for.
    assert.deepEqual(unexpected(ana, [422]), []);
  });
});
