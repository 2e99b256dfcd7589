// Browser test for the inbox, live, in two real browsers:
//
//   Ana (desktop) signs up, creates a sandbox bot and pairs it with her own phone. A
//   customer's phone (a second browser at phone size) is opened for the bot. Ana keeps
//   /inbox open; the customer writes, and the conversation appears in Ana's list within a
//   second, unread, without a reload (server-sent events). Ana opens it, takes it over and
//   answers; her reply reaches the customer's phone. While she holds the conversation the bot
//   stays silent; once she gives it back, the bot answers "ping" with "pong" again.
//
// The steps share state and run in order, against the `whatsdex serve` scripts/test starts.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { baseUrl, DESKTOP, launchBrowser, MOBILE, openPage, screenshot, sidewaysScroll } from './helpers.mjs';

const BASE = baseUrl();
const RUN = `${Date.now()}${Math.floor(Math.random() * 1000)}`;
const PASSWORD = 'violet kettle harbour 1987';
const ANA = { name: 'Ana Inbox', email: `ana.inbox+${RUN}@example.com` };
const CUSTOMER = { name: 'Carla Souza', number: '+351912000111' };
const NAV_TIMEOUT = 30_000;
// What "live" must mean here: a customer's message in the open list within a second.
const LIVE_WITHIN = 1_000;
const REPLY_TIMEOUT = 10_000;

let ana; // Ana's browser (desktop)
let customer; // the customer's browser (phone size)
let own; // Ana's phone, the bot's owner
let list; // { page, problems } of Ana's /inbox
let cust; // the customer's phone page
let botId;
let threadUrl;

/** Go to `url` and wait for the document (not for the network to idle: SSE never does). */
async function go(page, url) {
  const response = await page.goto(url, { waitUntil: 'load', timeout: NAV_TIMEOUT });
  return response;
}

/** Send `text` from a sandbox phone's chat and wait until its bubble shows. */
async function say(page, text) {
  const compose = page.locator('form.compose');
  await compose.locator('input[name=text]').fill(text);
  await compose.getByRole('button', { name: 'Send', exact: true }).click();
  await page
    .locator('.bubble.in[data-direction=in]', { hasText: text })
    .last()
    .waitFor({ state: 'visible', timeout: REPLY_TIMEOUT });
}

/** How many of the bot's bubbles on the phone say `text`. */
async function botSaid(page, text) {
  return page.locator('.bubble.out[data-direction=out] .body', { hasText: text }).count();
}

before(async () => {
  ana = await launchBrowser({ viewport: DESKTOP });
  customer = await launchBrowser({ viewport: MOBILE });
  own = await launchBrowser({ viewport: MOBILE });
  // Note when a page's live stream opens (htmx's SSE extension says so on the document).
  await ana.context.addInitScript(() => {
    document.addEventListener('htmx:sseOpen', () => {
      window.__liveOpen = true;
    });
  });
  list = await openPage(ana.context);
  cust = await openPage(customer.context);
});

after(async () => {
  await ana?.close();
  await customer?.close();
  await own?.close();
});

describe('inbox: a live conversation, a takeover and a reply from the team', () => {
  test('Ana signs up and pairs a sandbox bot with her phone', async () => {
    const { page } = list;
    await go(page, `${BASE}/signup`);
    await page.fill('input[name=name]', ANA.name);
    await page.fill('input[name=email]', ANA.email);
    await page.fill('input[name=password]', PASSWORD);
    await page.fill('input[name=workspace_name]', `Souza Shoes ${RUN}`);
    await Promise.all([
      page.waitForURL(/\/(onboarding|dashboard)/, { timeout: NAV_TIMEOUT }),
      page.getByRole('button', { name: 'Create account', exact: true }).click(),
    ]);
    await go(page, `${BASE}/bots`);
    const form = page.locator('form[action="/bots"]');
    await form.getByLabel('Bot name').fill('Shoe bot');
    await Promise.all([
      page.waitForURL(/\/bots\/[^/]+\/pair$/, { timeout: NAV_TIMEOUT }),
      form.getByRole('button', { name: 'Create and pair', exact: true }).click(),
    ]);
    botId = new URL(page.url()).pathname.split('/')[2];
    const link = page.getByTestId('sandbox-link');
    await link.waitFor({ state: 'attached', timeout: REPLY_TIMEOUT });
    const pairUrl = await link.getAttribute('href');

    const phone = await own.context.newPage();
    await go(phone, pairUrl);
    await phone.fill('input[name=name]', 'Ana');
    await phone.fill('input[name=number]', '+447700900123');
    await Promise.all([
      phone.waitForURL(/\/sandbox\/phone\//, { timeout: NAV_TIMEOUT }),
      phone.locator('form button[type=submit]').click(),
    ]);
    await page
      .getByTestId('pair-status')
      .filter({ hasText: 'Connected as' })
      .waitFor({ state: 'visible', timeout: REPLY_TIMEOUT });
  });

  test("a customer's phone is opened for the bot", async () => {
    // What the dashboard's "Open sandbox phone" button posts, with Ana's session.
    const { page } = list;
    await go(page, `${BASE}/dashboard`);
    const token = await page
      .locator(`form[action="/bots/${botId}/sandbox-phone"] input[name=csrf_token]`)
      .inputValue();
    const opened = await page.request.post(`${BASE}/bots/${botId}/sandbox-phone`, {
      form: { csrf_token: token, name: CUSTOMER.name, number: CUSTOMER.number },
      maxRedirects: 0,
    });
    assert.equal(opened.status(), 303, 'the phone is opened');
    const phoneUrl = new URL(opened.headers().location, BASE).href;
    await go(cust.page, phoneUrl);
    await cust.page.locator('form.compose input[name=text]').waitFor({ state: 'visible' });
  });

  test('the customer writes and the open inbox shows it within a second, unread', async () => {
    const { page } = list;
    await go(page, `${BASE}/inbox`);
    assert.equal((await page.locator('main h1').innerText()).trim(), 'Inbox');
    // The live stream is open before the customer writes.
    await page.waitForFunction(() => window.__liveOpen === true, null, { timeout: REPLY_TIMEOUT });
    await page.evaluate(() => {
      window.__marker = 1;
    });
    await screenshot(page, 'inbox-empty.png');

    const compose = cust.page.locator('form.compose');
    await compose.locator('input[name=text]').fill('Do you have these in size 38?');
    const sentAt = Date.now();
    await compose.getByRole('button', { name: 'Send', exact: true }).click();
    const row = page.getByTestId('inbox-row').filter({ hasText: CUSTOMER.name });
    await row.waitFor({ state: 'visible', timeout: REPLY_TIMEOUT });
    const took = Date.now() - sentAt;
    assert.ok(took <= LIVE_WITHIN, `the conversation appeared in ${took} ms (at most ${LIVE_WITHIN})`);
    assert.equal(await page.evaluate(() => window.__marker), 1, 'the list was not reloaded');
    assert.match(await row.innerText(), /size 38/, 'the row previews the message');
    const unread = row.getByTestId('unread-count');
    await unread.waitFor({ state: 'visible', timeout: REPLY_TIMEOUT });
    assert.ok(Number((await unread.innerText()).trim()) >= 1, 'counted unread');
    await screenshot(page, 'inbox.png');
    await page.setViewportSize(MOBILE);
    assert.ok((await sidewaysScroll(page)) <= 1, '/inbox fits a phone');
    await screenshot(page, 'inbox-mobile.png');
    await page.setViewportSize(DESKTOP);
  });

  test('Ana opens the conversation, takes it over and replies; the phone gets it', async () => {
    const { page } = list;
    const row = page.getByTestId('inbox-row').filter({ hasText: CUSTOMER.name });
    await Promise.all([page.waitForURL(/\/inbox\/[^/]+$/, { timeout: NAV_TIMEOUT }), row.locator('a').click()]);
    threadUrl = page.url();
    await page.getByTestId('bubble').filter({ hasText: 'size 38' }).waitFor({ state: 'visible' });
    await page.getByTestId('bot-answers').waitFor({ state: 'visible' });

    await page.getByTestId('take-over').click();
    await page.getByTestId('held-by').waitFor({ state: 'visible', timeout: REPLY_TIMEOUT });
    assert.match(await page.getByTestId('held-by').innerText(), /Ana Inbox has taken over/);

    await page.evaluate(() => {
      window.__marker = 2;
    });
    await page.getByTestId('reply-text').fill('Yes, we have them in 38 🙂');
    await page.getByTestId('send').click();
    const mine = page.getByTestId('bubble').filter({ hasText: 'we have them in 38' });
    await mine.waitFor({ state: 'visible', timeout: REPLY_TIMEOUT });
    assert.match(await mine.innerText(), /Ana Inbox/, 'the bubble names the member');
    // Shown at once as sending, then ticked once the transport took it.
    await page
      .locator('[data-testid=bubble][data-tick=sent], [data-testid=bubble][data-tick=delivered], [data-testid=bubble][data-tick=read]')
      .filter({ hasText: 'we have them in 38' })
      .waitFor({ state: 'visible', timeout: REPLY_TIMEOUT });
    assert.equal(await page.getByTestId('reply-text').inputValue(), '', 'the composer is emptied');
    assert.equal(await page.evaluate(() => window.__marker), 2, 'no reload');

    await cust.page
      .locator('.bubble.out[data-direction=out] .body', { hasText: 'we have them in 38' })
      .waitFor({ state: 'visible', timeout: REPLY_TIMEOUT });
    await screenshot(page, 'inbox-thread.png');
    await screenshot(cust.page, 'inbox-customer-phone.png');
  });

  test('the bot stays silent while Ana holds the conversation', async () => {
    const { page } = list;
    const pongsBefore = await botSaid(cust.page, 'pong');
    await say(cust.page, 'ping');
    // The customer's message arrives live in Ana's open conversation.
    await page
      .locator('[data-testid=bubble].in', { hasText: 'ping' })
      .waitFor({ state: 'visible', timeout: REPLY_TIMEOUT });
    await cust.page.waitForTimeout(2_500);
    assert.equal(await botSaid(cust.page, 'pong'), pongsBefore, 'no pong while a person holds it');
    await page.setViewportSize(MOBILE);
    assert.ok((await sidewaysScroll(page)) <= 1, 'the conversation fits a phone');
    await screenshot(page, 'inbox-thread-mobile.png');
    await page.setViewportSize(DESKTOP);
  });

  test('given back to the bot, it answers again', async () => {
    const { page } = list;
    await page.getByTestId('release').click();
    await page.getByTestId('bot-answers').waitFor({ state: 'visible', timeout: REPLY_TIMEOUT });
    const pongsBefore = await botSaid(cust.page, 'pong');
    await say(cust.page, 'ping');
    await cust.page.waitForFunction(
      (n) => document.querySelectorAll('.bubble.out[data-direction=out] .body').length > 0 &&
        [...document.querySelectorAll('.bubble.out[data-direction=out] .body')].filter((b) => b.textContent.trim() === 'pong').length > n,
      pongsBefore,
      { timeout: REPLY_TIMEOUT },
    );
    // And the bot's answer shows in Ana's conversation, live.
    const pong = page.locator('[data-testid=bubble].out', { hasText: 'pong' });
    await pong.waitFor({ state: 'visible', timeout: REPLY_TIMEOUT });
    assert.match(await pong.locator('.author').innerText(), /^Bot$/, "the bot's answer");
    assert.equal(new URL(page.url()).href, threadUrl, 'still on the conversation');
  });

  test('no errors in the pages', async () => {
    for (const [who, session] of [
      ['Ana', list],
      ['customer', cust],
    ]) {
      // Leaving a page ends its event stream: the browser reports that request as aborted.
      const problems = session
        .problems()
        .filter((p) => !/^failed request: GET \S+\/inbox\/events\?\S*: net::ERR_ABORTED$/.test(p));
      assert.deepEqual(problems, [], `${who}: no console errors, page errors or failed requests`);
    }
  });
});
