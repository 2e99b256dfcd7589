// Browser test for the sandbox, end to end in two real browsers:
//
//   Ana (desktop) signs up, creates "Bakery bot" and lands on its pairing page, whose QR
//   code is an inline <svg> refreshed by htmx. The QR code is decoded from its pixels (a
//   screenshot, not the DOM): it encodes `${WHATSDEX_BASE_URL}/sandbox/pair/<token>`.
//   A phone (a separate browser at phone size, no cookies in common) opens that link,
//   pairs as +44 7700 900123 and gets the chat screen; Ana's page, without reloading,
//   turns to "Connected as +447700900123". The phone sends "ping"; the bot answers "pong".
//
// The steps share state and run in order. Run by scripts/test against a live
// `whatsdex serve` whose APP_BASE_URL is WHATSDEX_BASE_URL; the server needs no WhatsApp:
// bots run on the built-in sandbox transport.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import jsQR from 'jsqr';
import { PNG } from 'pngjs';
import {
  baseUrl,
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
const ANA = { name: 'Ana Lima', email: `ana.sandbox+${RUN}@example.com` };
const WORKSPACE = `Lima Bakery ${RUN}`;
const BOT_NAME = 'Bakery bot';
const PHONE = { name: 'Ana', number: '+44 7700 900123', normalized: '+447700900123' };
const NAV_TIMEOUT = 30_000;
// Pairing status and chat are polled every second; allow for a slow machine.
const LIVE_TIMEOUT = 10_000;
// Link tokens: 32 random bytes, base64url without padding.
const TOKEN = '[A-Za-z0-9_-]{43}';

/** Escape a string for use inside a RegExp. */
const literal = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

let owner; // Ana's browser, desktop size
let phone; // the simulated phone's browser, phone size
let ana; // { page, problems, ... } from openPage, in Ana's browser
let ph; // the same, in the phone's browser
let ana2; // a second page of Ana's, for the bots list after pairing
let botId;
let pairUrl; // decoded from the QR code
let phoneUrl;

// Polling endpoints. A poll in flight when its page navigates away (a form submission)
// is aborted by the browser; that is not an error of the page. Anything else is.
const POLLS = [
  /^\/bots\/rows$/,
  /^\/bots\/[^/]+\/pair\/status$/,
  /^\/sandbox\/phone\/[^/]+\/chat$/,
];
const tolerated = new WeakMap(); // session -> Set of failedRequests entries to ignore

/** Run `leave` (which navigates the page away) and tolerate aborted polls meanwhile. */
async function navigateAway(session, leave) {
  const from = session.failedRequests.length;
  const result = await leave();
  const ignore = tolerated.get(session) ?? new Set();
  for (const entry of session.failedRequests.slice(from)) {
    const match = /^GET (\S+): net::ERR_ABORTED$/.exec(entry);
    if (match && POLLS.some((re) => re.test(new URL(match[1]).pathname))) ignore.add(entry);
  }
  tolerated.set(session, ignore);
  return result;
}

function assertNoProblems(who, session) {
  const ignore = tolerated.get(session) ?? new Set();
  const prefix = 'failed request: ';
  const unexpected = session
    .problems()
    .filter((p) => !(p.startsWith(prefix) && ignore.has(p.slice(prefix.length))));
  assert.deepEqual(unexpected, [], `${who}: no console errors, page errors or failed requests`);
}

/**
 * Submit a form by clicking `button`; wait for the document whose path matches `pathname`
 * (a string or a RegExp, after any redirects) to arrive and load. Returns its response.
 */
async function submitAndWait(session, button, pathname) {
  const { page } = session;
  const matches = (url) => {
    const path = new URL(url).pathname;
    return typeof pathname === 'string' ? path === pathname : pathname.test(path);
  };
  return navigateAway(session, async () => {
    const arrived = page.waitForResponse(
      (res) =>
        res.request().isNavigationRequest() &&
        res.request().frame() === page.mainFrame() &&
        matches(res.url()) &&
        !(res.status() >= 300 && res.status() < 400),
      { timeout: NAV_TIMEOUT },
    );
    await button.click();
    const response = await arrived;
    await page.waitForURL((url) => matches(url.href), { timeout: NAV_TIMEOUT });
    await page.waitForLoadState('load');
    return response;
  });
}

/**
 * Screenshot the QR code's <svg> and decode it. htmx swaps the element every second, so a
 * screenshot can race a swap: retry a few times.
 */
async function decodeQr(page) {
  let lastError;
  for (let attempt = 0; attempt < 5; attempt += 1) {
    try {
      const svg = page.locator('[data-testid=qr] svg');
      await svg.waitFor({ state: 'visible', timeout: LIVE_TIMEOUT });
      const png = PNG.sync.read(await svg.screenshot({ timeout: 5_000 }));
      const pixels = new Uint8ClampedArray(png.data.buffer, png.data.byteOffset, png.data.length);
      const code = jsQR(pixels, png.width, png.height);
      if (code) return { text: code.data, width: png.width, height: png.height };
      lastError = new Error(`no QR code found in a ${png.width}x${png.height} screenshot`);
    } catch (err) {
      lastError = err;
    }
    await page.waitForTimeout(300);
  }
  throw lastError;
}

before(async () => {
  owner = await launchBrowser({ viewport: DESKTOP });
  phone = await launchBrowser({ viewport: MOBILE });
  ana = await openPage(owner.context);
  ph = await openPage(phone.context);
});

after(async () => {
  await owner?.close();
  await phone?.close();
});

describe('sandbox: pair a bot by QR code and chat with it', () => {
  test('Ana signs up and creates "Bakery bot" from the bots page', async () => {
    const { page } = ana;
    const signup = await visit(page, `${BASE}/signup`);
    assert.equal(signup.status(), 200, 'GET /signup status');
    await page.fill('input[name=name]', ANA.name);
    await page.fill('input[name=email]', ANA.email);
    await page.fill('input[name=password]', PASSWORD);
    await page.fill('input[name=workspace_name]', WORKSPACE);
    const createAccount = page.getByRole('button', { name: 'Create account', exact: true });
    await submitAndWait(ana, createAccount, '/onboarding/plan');

    await navigateAway(ana, () => visit(page, `${BASE}/bots`));
    assert.equal(new URL(page.url()).pathname, '/bots', 'on /bots');
    assert.equal((await page.locator('main h1').innerText()).trim(), 'Bots', '/bots <h1>');
    await page.waitForLoadState('networkidle', { timeout: 10_000 }).catch(() => {});
    await screenshot(page, 'bots-empty.png');

    const form = page
      .locator('section', { has: page.getByRole('heading', { name: 'New bot' }) })
      .locator('form');
    assert.equal(await form.count(), 1, 'a "New bot" form');
    await form.getByLabel('Bot name').fill(BOT_NAME);
    const response = await submitAndWait(
      ana,
      form.getByRole('button', { name: 'Create and pair', exact: true }),
      /^\/bots\/[^/]+\/pair$/,
    );
    assert.equal(response.status(), 200, 'GET /bots/{id}/pair status');
    botId = new URL(page.url()).pathname.split('/')[2];
    assert.ok(botId, 'the pairing URL names the bot');
    const heading = await page.locator('main h1').innerText();
    assert.match(heading, new RegExp(literal(BOT_NAME)), 'pairing <h1>');
    assertNoProblems('Ana', ana);
  });

  test('the pairing page shows a live QR code encoding the sandbox pairing link', async () => {
    const { page } = ana;
    // The first code may take a poll or two to appear.
    const qr = page.locator('[data-testid=pair-status] [data-testid=qr] svg');
    await qr.waitFor({ state: 'visible', timeout: LIVE_TIMEOUT });
    assert.equal(await page.locator('[data-testid=qr]').evaluate((el) => el.tagName), 'FIGURE');

    const { text, width, height } = await decodeQr(page);
    const expected = new RegExp(`^${literal(BASE)}/sandbox/pair/(${TOKEN})$`);
    assert.match(text, expected, `the QR code (${width}x${height} px) encodes the pairing link`);
    pairUrl = text;
    assert.ok(width >= 200 && height >= 200, `the QR code is at least 200 px (${width}x${height})`);

    await page.locator('.countdown').waitFor({ state: 'visible' });
    assert.match(await page.locator('.countdown').innerText(), /new code in \d+ s/i, 'a countdown');
    await screenshot(page, 'pairing.png');

    // At phone size: steps and code stack, nothing scrolls sideways.
    await page.setViewportSize(MOBILE);
    assert.ok((await sidewaysScroll(page)) <= 1, 'the pairing page fits a phone');
    await screenshot(page, 'pairing-mobile.png');
    await page.setViewportSize(DESKTOP);

    // From here on, Ana's page must update by itself: mark this document.
    await page.evaluate(() => {
      window.__marker = 1;
    });
    assertNoProblems('Ana', ana);
  });

  test('the phone opens the link from the QR code and pairs', async () => {
    const { page } = ph;
    const response = await visit(page, pairUrl);
    assert.equal(response.status(), 200, `GET ${pairUrl} status`);
    const intro = await page.locator('main').innerText();
    assert.match(intro, new RegExp(literal(BOT_NAME)), 'the pairing form names the bot');
    await page.getByLabel('Your name').fill(PHONE.name);
    await page.getByLabel('Phone number (with country code)').fill(PHONE.number);
    assert.ok((await sidewaysScroll(page)) <= 1, 'the pairing form does not scroll sideways');
    await screenshot(page, 'phone-pair.png');

    const chat = await submitAndWait(
      ph,
      page.getByRole('button', { name: 'Pair this phone', exact: true }),
      new RegExp(`^/sandbox/phone/${TOKEN}$`),
    );
    assert.equal(chat.status(), 200, 'GET /sandbox/phone/{token} status');
    phoneUrl = page.url();
    await page.locator('form.compose input[name=text]').waitFor({ state: 'visible' });
    const title = await page.locator('.phone-screen header').innerText();
    assert.match(title, new RegExp(literal(BOT_NAME)), 'the chat names the bot');
    assertNoProblems('phone', ph);
  });

  test("Ana's pairing page turns to \"Connected\" without reloading", async () => {
    const { page } = ana;
    const status = page.locator('[data-testid=pair-status]');
    await status
      .filter({ hasText: `Connected as ${PHONE.normalized}` })
      .waitFor({ state: 'visible', timeout: LIVE_TIMEOUT });
    assert.equal(await page.evaluate(() => window.__marker), 1, 'the page was not reloaded');
    assert.equal(new URL(page.url()).pathname, `/bots/${botId}/pair`, 'still on the pairing page');
    const connected = await status.evaluate((el) => el.classList.contains('connected'));
    assert.ok(connected, 'the status has the .connected class');
    assert.equal(await page.locator('[data-testid=qr]').count(), 0, 'the QR code is gone');
    await screenshot(page, 'paired.png');

    // The bots list (another tab) shows the bot connected, owned by the phone's number.
    ana2 = await openPage(owner.context);
    await visit(ana2.page, `${BASE}/bots`);
    const row = ana2.page.locator(`tr[data-bot="${botId}"]`);
    await row
      .locator('[data-testid=bot-status].status-connected')
      .waitFor({ state: 'visible', timeout: LIVE_TIMEOUT });
    const rowText = await row.innerText();
    assert.match(rowText, new RegExp(literal(PHONE.normalized)), 'the owner number is listed');
    await screenshot(ana2.page, 'bots.png');
    await ana2.page.setViewportSize(MOBILE);
    assert.ok((await sidewaysScroll(ana2.page)) <= 1, '/bots fits a phone (no sideways scroll)');
    await screenshot(ana2.page, 'bots-mobile.png');
    assertNoProblems('Ana', ana);
    assertNoProblems('Ana (second tab)', ana2);
  });

  test('the phone sends "ping" and the bot answers "pong"', async () => {
    const { page } = ph;
    assert.equal(page.url(), phoneUrl, 'the phone is still on its chat');
    await page.evaluate(() => {
      window.__marker = 1;
    });
    const compose = page.locator('form.compose');
    await compose.locator('input[name=text]').fill('ping');
    await compose.getByRole('button', { name: 'Send', exact: true }).click();

    const mine = page.locator('.bubble.in[data-direction=in]', { hasText: 'ping' });
    await mine.first().waitFor({ state: 'visible', timeout: LIVE_TIMEOUT });
    const pong = page.locator('.bubble.out[data-direction=out]', { hasText: 'pong' });
    await pong.first().waitFor({ state: 'visible', timeout: LIVE_TIMEOUT });
    const reply = (await pong.first().locator('.body').innerText()).trim();
    assert.equal(reply, 'pong', "the bot's bubble says pong");
    const marker = await page.evaluate(() => window.__marker);
    assert.equal(marker, 1, 'the chat updated without reloading');
    assert.equal(await page.locator('.bubbles .empty').count(), 0, 'the empty-chat hint is gone');
    // The message box is cleared for the next message.
    const typed = await page.locator('form.compose input[name=text]').inputValue();
    assert.equal(typed, '', 'the message box is emptied');
    // Let the delivery receipt arrive before the screenshot (the chat is polled).
    await pong
      .first()
      .locator('small', { hasText: /delivered|read/i })
      .waitFor({ state: 'visible', timeout: 5_000 })
      .catch(() => {});
    assert.ok((await sidewaysScroll(page)) <= 1, 'the chat fits a phone (no sideways scroll)');
    await screenshot(page, 'phone-chat.png');

    // The same chat on a desktop browser window.
    await page.setViewportSize(DESKTOP);
    await screenshot(page, 'phone-chat-desktop.png');
    await page.setViewportSize(MOBILE);
    assertNoProblems('phone', ph);
  });

  test('no errors in either browser, polling included', async () => {
    // A few more polls on both sides (the chat keeps polling; the paired page stopped).
    await ph.page.waitForTimeout(2_500);
    assertNoProblems('Ana', ana);
    assertNoProblems('Ana (second tab)', ana2);
    assertNoProblems('phone', ph);
  });
});
