// Browser test of the onboarding wizard, end to end in three real browsers:
//
//   Ana (desktop) signs up and lands in the wizard: plan (her Pro trial kept)
//   → bot name → the Restaurant Orders template (picked from cards with chat previews) →
//   pairing. Her own phone (a second browser, phone size) opens the sandbox link from the
//   pairing page and pairs as +44 7700 900123: it is the bot's owner. Ana continues to the
//   test step and opens a customer's phone (a third page) from there; the customer orders
//   two items by chatting (!order, numbers, quantities, confirm) and the owner's phone
//   receives the order. Then the picker, the settings page (saved with htmx, errors next to
//   the field) and the dashboard are visited and screenshotted.
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
  visit,
} from './helpers.mjs';

const BASE = baseUrl();
const RUN = `${Date.now()}${Math.floor(Math.random() * 1000)}`;
const PASSWORD = 'violet kettle harbour 1987';
const ANA = { name: 'Ana Lima', email: `ana.wizard+${RUN}@example.com` };
const BUSINESS = `Lima Pizza ${RUN}`;
const BOT_NAME = 'Pizza orders';
const OWNER_PHONE = { name: 'Ana', number: '+44 7700 900123', normalized: '+447700900123' };
const NAV_TIMEOUT = 30_000;
const LIVE_TIMEOUT = 15_000;

let owner; // Ana's desktop browser
let phone; // Ana's own phone (the bot's owner)
let ana;
let ownerPhone;
let customer; // the customer's phone page (opened from the wizard)
let botId;

/** Problems other than polls the browser aborted when a page navigated away. */
function realProblems(session) {
  return session.problems().filter((p) => !/net::ERR_ABORTED$/.test(p));
}

/** Send `text` from a sandbox phone and wait for the bot's next bubble; returns its text. */
async function sendAndAwaitReply(page, text) {
  const replies = page.locator('.bubble.out[data-direction=out] .body');
  const before = await replies.count();
  const compose = page.locator('form.compose');
  await compose.locator('input[name=text]').fill(text);
  await compose.getByRole('button', { name: 'Send', exact: true }).click();
  await page.waitForFunction(
    (n) => document.querySelectorAll('.bubble.out[data-direction=out] .body').length > n,
    before,
    { timeout: LIVE_TIMEOUT },
  );
  return (await replies.nth(before).innerText()).trim();
}

before(async () => {
  owner = await launchBrowser({ viewport: DESKTOP });
  phone = await launchBrowser({ viewport: MOBILE });
  ana = await openPage(owner.context);
  ownerPhone = await openPage(phone.context);
});

after(async () => {
  await owner?.close();
  await phone?.close();
});

describe('onboarding: from sign-up to a bot that takes orders', () => {
  test('sign-up lands in the wizard, which keeps the free trial; then the bot step', async () => {
    const { page } = ana;
    await visit(page, `${BASE}/signup`);
    await page.fill('input[name=name]', ANA.name);
    await page.fill('input[name=email]', ANA.email);
    await page.fill('input[name=password]', PASSWORD);
    await page.fill('input[name=workspace_name]', BUSINESS);
    // Sign-up asked for the business's name: the wizard does not ask again.
    await clickAndWait(page, page.getByRole('button', { name: 'Create account' }), '/onboarding/plan');
    assert.equal((await page.locator('main h1').innerText()).trim(), 'Choose a plan');

    const trial = await page.getByTestId('trial-explained').innerText();
    assert.match(trial, /free Pro trial until .+ \(1[34] days left\)/, 'the trial, and when it ends');
    assert.match(trial, /moves to Free/, 'what happens then');
    assert.ok(await page.locator('[data-plan=pro] input[name=plan][value=keep]').isChecked(), 'the trial is preselected');
    assert.equal(await page.locator('input[name=plan][value=starter]').count(), 0, 'no purchase without Stripe');
    assert.match(await page.getByTestId('plan-change-explained').innerText(), /changed by its operator/);
    await screenshot(page, 'wizard-plan.png');
    await page.setViewportSize(MOBILE);
    await screenshot(page, 'wizard-plan-390.png');
    await page.setViewportSize(DESKTOP);
    await clickAndWait(page, page.getByRole('button', { name: 'Continue' }), '/onboarding/bot');

    // An empty name is refused next to the field, and Back works.
    await clickAndWait(page, page.getByRole('button', { name: 'Continue' }), '/onboarding/bot');
    assert.match(await page.locator('#name-error').innerText(), /Enter a bot name/);
    await clickAndWait(page, page.getByTestId('wizard-back'), '/onboarding/plan');
    await clickAndWait(page, page.getByRole('button', { name: 'Continue' }), '/onboarding/bot');
    await page.fill('input[name=name]', BOT_NAME);
    await clickAndWait(page, page.getByRole('button', { name: 'Continue' }), '/onboarding/template');
    assert.deepEqual(realProblems(ana).filter((p) => !p.includes('HTTP 422') && !p.includes('status of 422')), [], 'no errors in the page');
  });

  test('the template step shows cards with chat previews; Restaurant Orders is picked', async () => {
    const { page } = ana;
    const cards = page.getByTestId('template-card');
    assert.ok((await cards.count()) >= 6, 'six templates or more');
    const restaurant = page.locator('[data-template=restaurant_orders]');
    assert.ok((await restaurant.locator('.preview .bubble').count()) >= 4, 'a preview conversation');
    const premium = page.locator('[data-template=personal_assistant]');
    assert.equal(await premium.getByTestId('premium-badge').count(), 1, 'premium badge');
    assert.equal(await premium.getByTestId('template-lock').count(), 0, 'the Pro trial unlocks it');
    await screenshot(page, 'wizard-templates.png');
    await clickAndWait(page, restaurant.getByRole('button', { name: 'Use Restaurant Orders' }), '/onboarding/pair');
  });

  test("Ana's phone pairs from the pairing step and becomes the owner", async () => {
    const { page } = ana;
    const link = page.getByTestId('sandbox-link');
    await link.waitFor({ state: 'attached', timeout: LIVE_TIMEOUT });
    const pairUrl = await link.getAttribute('href');
    assert.match(pairUrl, /\/sandbox\/pair\//);

    const ph = ownerPhone.page;
    await visit(ph, pairUrl);
    await ph.getByLabel('Your name').fill(OWNER_PHONE.name);
    await ph.getByLabel('Phone number (with country code)').fill(OWNER_PHONE.number);
    await clickAndWait(ph, ph.getByRole('button', { name: 'Pair this phone' }), /^\/sandbox\/phone\//);

    await page
      .getByTestId('pair-status')
      .filter({ hasText: `Connected as ${OWNER_PHONE.normalized}` })
      .waitFor({ state: 'visible', timeout: LIVE_TIMEOUT });
    await screenshot(page, 'wizard-paired.png');
    await clickAndWait(page, page.getByRole('button', { name: 'Continue' }), '/onboarding/test');
  });

  test('a customer orders two items from the phone; the owner receives the order', async () => {
    const { page } = ana;
    const [popup] = await Promise.all([
      owner.context.waitForEvent('page'),
      page.getByRole('button', { name: "Open a customer's phone" }).click(),
    ]);
    await popup.waitForURL(/\/sandbox\/phone\//, { timeout: NAV_TIMEOUT });
    await popup.setViewportSize(MOBILE);
    customer = popup;

    const items = /^What would you like\? Reply with a number\.\n1\. Margherita pizza — \$9\.50\n2\. Pepperoni pizza — \$11\.00\n3\. Caesar salad — \$8\.50\n4\. Lemonade — \$3\.00$/;
    assert.match(await sendAndAwaitReply(customer, '!order'), items);
    assert.equal(await sendAndAwaitReply(customer, '1'), 'How many? (1 to 20)');
    assert.match(await sendAndAwaitReply(customer, '2'), /^Anything else\?/);
    assert.match(await sendAndAwaitReply(customer, '1'), items);
    assert.equal(await sendAndAwaitReply(customer, '4'), 'How many? (1 to 20)');
    assert.match(await sendAndAwaitReply(customer, '1'), /^Anything else\?/);
    const confirm = await sendAndAwaitReply(customer, '2');
    assert.equal(
      confirm,
      'Your order:\n• Item: Margherita pizza × 2 — $19.00\n• Item: Lemonade × 1 — $3.00\nTotal: $22.00\n' +
        'Shall we send it to the kitchen?\n1. Yes\n2. No',
    );
    assert.match(await sendAndAwaitReply(customer, '1'), /^Thank you! Your order is with the kitchen\./);
    await screenshot(customer, 'customer-order.png');

    const order = ownerPhone.page.locator('.bubble.out[data-direction=out] .body', { hasText: 'New order from' });
    await order.first().waitFor({ state: 'visible', timeout: LIVE_TIMEOUT });
    assert.equal(
      (await order.first().innerText()).trim(),
      'New order from Test customer (+15550100200):\n• Item: Margherita pizza × 2 — $19.00\n' +
        '• Item: Lemonade × 1 — $3.00\nTotal: $22.00',
      "the owner's phone gets the order",
    );
    await screenshot(ownerPhone.page, 'owner-order.png');
  });

  test('the wizard finishes on the dashboard', async () => {
    const { page } = ana;
    await clickAndWait(page, page.getByRole('button', { name: 'Continue' }), '/onboarding/done');
    await screenshot(page, 'wizard-done.png');
    await clickAndWait(page, page.getByRole('button', { name: 'Go to the dashboard' }), '/dashboard');
    const card = page.locator('.bot-card', { hasText: BOT_NAME });
    botId = await card.getAttribute('data-bot');
    assert.ok(botId, 'the bot is on the dashboard');
    assert.match(await card.getByTestId('bot-status').innerText(), /Connected/);
    const today = Number(await card.getByTestId('messages-today').innerText());
    assert.ok(today >= 10, `messages today counted (${today})`);
    assert.deepEqual(
      await page.locator('[data-usage]').evaluateAll((bars) => bars.map((b) => b.dataset.usage)),
      ['Bots', 'Team members', 'Messages received this month', 'Broadcast recipients this month'],
      'usage bars for what the plan has',
    );
    assert.match(await page.getByTestId('trial-status').innerText(), /^Free trial: 1[34] days left \(until .+\)\. Then Free/);
    assert.match(await page.locator('.recent-list').innerText(), /Test customer/);
    // Analytics on the dashboard: the order flow's commands and a chart for the bot.
    const commands = await page.getByTestId('top-commands').innerText();
    assert.match(commands, /!order · 1/);
    assert.doesNotMatch(commands, /^\s*\d+ ·/m, 'answers inside the order flow are not commands');
    assert.match(await page.getByTestId('median-reply').innerText(), /\d/);
    assert.equal(await page.getByTestId('bot-chart').count(), 1, 'one chart per bot');
    assert.equal(await page.getByTestId('resume-setup').count(), 0, 'setup is finished');
    await screenshot(page, 'dashboard-bots.png');
  });

  test('the picker filters by category', async () => {
    const { page } = ana;
    await visit(page, `${BASE}/templates`);
    assert.ok((await page.getByTestId('template-card').count()) >= 6);
    await screenshot(page, 'templates-picker.png');
    await clickAndWait(page, page.locator('.category-filter a', { hasText: 'Food' }), '/templates');
    const shown = await page.getByTestId('template-card').evaluateAll((cards) =>
      cards.map((c) => c.dataset.template),
    );
    assert.deepEqual(shown, ['restaurant_orders'], 'only the Food templates');
  });

  test('settings save with htmx; an error shows next to its field', async () => {
    const { page } = ana;
    // Only this test's own errors: the wizard's intended 422 came earlier.
    const consoleErrorsBefore = ana.consoleErrors.length;
    const pageErrorsBefore = ana.pageErrors.length;
    await visit(page, `${BASE}/bots/${botId}/settings`);
    await page.evaluate(() => {
      window.__marker = 1;
    });
    await page.fill('#prefix', 'go');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await page.locator('#prefix-error').waitFor({ state: 'visible', timeout: LIVE_TIMEOUT });
    assert.match(await page.locator('#prefix-error').innerText(), /one to three symbols/);
    assert.equal(await page.inputValue('#welcome'), 'Welcome to our restaurant! Send !order to order, or !menu for more.');
    await screenshot(page, 'settings-error.png');
    await page.fill('#prefix', '!');
    await page.fill('#welcome', 'Ciao! Send !order to order.');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await page.getByTestId('saved').waitFor({ state: 'visible', timeout: LIVE_TIMEOUT });
    assert.equal(await page.evaluate(() => window.__marker), 1, 'saved without reloading');
    await screenshot(page, 'settings.png');
    await visit(page, `${BASE}/bots/${botId}/settings`);
    assert.equal(await page.inputValue('#welcome'), 'Ciao! Send !order to order.', 'saved for good');
    assert.deepEqual(ana.pageErrors.slice(pageErrorsBefore), [], 'no page errors');
    assert.deepEqual(ana.consoleErrors.slice(consoleErrorsBefore), [], 'no console errors');
  });
});
