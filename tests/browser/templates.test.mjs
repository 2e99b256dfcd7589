// Browser test of applying a second template to a bot, which must keep the owner's edits:
//
//   Ana signs up and creates a bot; from the template picker she gives it Customer Support
//   (nothing to lose yet, so it applies at once), edits its welcome message and the refund
//   keyword reply on the settings page, then picks FAQ Assistant without "reset". A preview
//   lists what stays as she has it, what is added and what is replaced, and nothing changes
//   until she confirms; once confirmed, her edits are there, and FAQ's keywords too.
//
// Run by scripts/test against a live `whatsdex serve` (sandbox transport, SQLite).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  baseUrl,
  clickAndWait,
  DESKTOP,
  launchBrowser,
  MOBILE,
  openPage,
  screenshot,
  sidewaysScroll,
  visit,
} from './helpers.mjs';

const BASE = baseUrl();
const RUN = `${Date.now()}${Math.floor(Math.random() * 1000)}`;
const PASSWORD = 'violet kettle harbour 1987';
const ANA = { name: 'Ana Lima', email: `ana.templates+${RUN}@example.com` };
const WORKSPACE = `Lima Shop ${RUN}`;
const BOT_NAME = 'Shop helper';
const WELCOME = 'Hi, this is Lima Shop! Ask me anything.';
const REFUND = 'Bring it back within 14 days, with the receipt.';
const NAV_TIMEOUT = 30_000;
const LIVE_TIMEOUT = 15_000;

let browser;
let ana;
let botId;

before(async () => {
  browser = await launchBrowser({ viewport: DESKTOP });
  ana = await openPage(browser.context);
});

after(async () => {
  await browser?.close();
});

/** The keyword-replies textarea's line for a keyword. */
async function keywordLine(page, keyword) {
  const text = await page.inputValue('#keywords');
  return text.split('\n').find((line) => line.split('=>')[0].includes(keyword));
}

/** Apply `template` to the bot from the picker (reset left unticked). */
async function useTemplate(page, template, pathname) {
  await visit(page, `${BASE}/templates?bot=${botId}`);
  const card = page.locator(`[data-template=${template}]`);
  return clickAndWait(page, card.getByRole('button', { name: /^Use / }), pathname);
}

describe('templates: a second template keeps the edits', () => {
  test('Ana signs up, creates a bot and gives it Customer Support', async () => {
    const { page } = ana;
    await visit(page, `${BASE}/signup`);
    await page.fill('input[name=name]', ANA.name);
    await page.fill('input[name=email]', ANA.email);
    await page.fill('input[name=password]', PASSWORD);
    if (await page.locator('input[name=workspace_name]').count()) {
      await page.fill('input[name=workspace_name]', WORKSPACE);
    }
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.waitForURL((url) => url.pathname !== '/signup', { timeout: NAV_TIMEOUT });

    await visit(page, `${BASE}/bots`);
    await page.getByLabel('Bot name').fill(BOT_NAME);
    await page.getByRole('button', { name: 'Create and pair' }).click();
    await page.waitForURL((url) => /^\/bots\/[^/]+\/pair$/.test(url.pathname), { timeout: NAV_TIMEOUT });
    botId = new URL(page.url()).pathname.split('/')[2];

    // The bot has no settings yet: nothing to lose, so the template applies at once.
    await useTemplate(page, 'customer_support', `/bots/${botId}/settings`);
    assert.match(await page.inputValue('#welcome'), /^Hello! Thanks for contacting us/);
  });

  test('Ana edits the welcome message and the refund reply', async () => {
    const { page } = ana;
    await page.fill('#welcome', WELCOME);
    const keywords = (await page.inputValue('#keywords'))
      .split('\n')
      .map((line) => (line.startsWith('refund') ? `refund, return => ${REFUND}` : line))
      .join('\n');
    await page.fill('#keywords', keywords);
    await page.getByRole('button', { name: 'Save settings' }).click();
    await page.getByTestId('saved').waitFor({ state: 'visible', timeout: LIVE_TIMEOUT });
  });

  test('FAQ Assistant without reset: a preview first, and nothing changes yet', async () => {
    const { page } = ana;
    const response = await useTemplate(page, 'faq_assistant', '/templates/preview');
    assert.equal(response.status(), 200);
    assert.equal(
      (await page.locator('main h1').innerText()).trim(),
      `Apply FAQ Assistant to ${BOT_NAME}?`,
    );
    const kept = await page.getByTestId('kept').innerText();
    assert.match(kept, /Welcome message/);
    assert.ok(kept.includes(WELCOME), `the welcome message is kept: ${kept}`);
    assert.match(kept, /Keyword reply: refund, return/);
    assert.ok(kept.includes(REFUND));
    assert.match(kept, /Command !hours/);
    assert.match(kept, /Command !human/);
    const added = await page.getByTestId('added').innerText();
    assert.match(added, /Command !faq/);
    assert.match(added, /Keyword reply: payment, pay, card/);
    assert.match(await page.getByTestId('replaced').innerText(), /Keyword reply: delivery, deliver, shipping/);
    assert.equal(await page.getByTestId('removed').count(), 0, 'nothing is removed');
    assert.equal(await page.getByTestId('reset-warning').count(), 0);
    await screenshot(page, 'template-preview.png');
    await page.setViewportSize(MOBILE);
    assert.ok((await sidewaysScroll(page)) <= 1, 'the preview fits a phone');
    await screenshot(page, 'template-preview-mobile.png');
    await page.setViewportSize(DESKTOP);

    // Not applied yet: the settings are still Ana's Customer Support.
    await visit(page, `${BASE}/bots/${botId}/settings`);
    assert.match(await page.locator('main hgroup').innerText(), /Customer Support/);
    assert.equal(await page.inputValue('#welcome'), WELCOME);
  });

  test('confirmed: the edits are kept and FAQ answers are added', async () => {
    const { page } = ana;
    await useTemplate(page, 'faq_assistant', '/templates/preview');
    await clickAndWait(
      page,
      page.getByRole('button', { name: 'Apply template' }),
      `/bots/${botId}/settings`,
    );
    assert.match(await page.locator('main hgroup').innerText(), /FAQ Assistant/);
    assert.equal(await page.inputValue('#welcome'), WELCOME, 'the welcome message stays');
    assert.equal(await keywordLine(page, 'refund'), `refund, return => ${REFUND}`);
    assert.match(await keywordLine(page, 'payment'), /We take cash, cards and mobile payments\./);
    for (const command of ['hours', 'human', 'faq']) {
      assert.equal(await page.locator(`tr[data-command=${command}]`).count(), 1, `!${command}`);
    }
    assert.notEqual(
      await page.inputValue('#away_message'),
      '',
      'the away message is not emptied by a template without one',
    );
    await screenshot(page, 'template-applied.png');
  });

  test('reset shows what would be dropped', async () => {
    const { page } = ana;
    await visit(page, `${BASE}/templates?bot=${botId}`);
    const card = page.locator('[data-template=restaurant_orders]');
    await card.getByLabel(/Reset to template/).check();
    await clickAndWait(page, card.getByRole('button', { name: /^Use / }), '/templates/preview');
    assert.equal(await page.getByTestId('reset-warning').count(), 1);
    const removed = await page.getByTestId('removed').innerText();
    assert.match(removed, /Keyword reply: refund, return/);
    assert.match(removed, /Command !faq/);
    await page.getByRole('button', { name: 'Cancel' }).or(page.getByRole('link', { name: 'Cancel' })).click();
    await page.waitForURL((url) => url.pathname === '/templates', { timeout: NAV_TIMEOUT });
    await visit(page, `${BASE}/bots/${botId}/settings`);
    assert.equal(await page.inputValue('#welcome'), WELCOME, 'cancelled: nothing changed');
  });

  test('no console errors, page errors or failed requests', () => {
    const problems = ana.problems().filter((p) => !/net::ERR_ABORTED$/.test(p));
    assert.deepEqual(problems, []);
  });
});
