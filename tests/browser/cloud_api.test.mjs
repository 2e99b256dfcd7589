// Browser test for the WhatsApp Cloud API, end to end: a business connects its bot with the
// Cloud API form (checked against a local fake of Meta's Graph API), the page shows the
// webhook URL and verify token to paste into Meta, Meta's handshake and a signed webhook
// (sent by this test, as Meta sends them) turn the page to "Connected" without a reload, and
// the customer's message and the bot's answer appear in the page's latest messages; the
// answer reached the Graph API as Meta expects it. The connected page passes axe and fits
// 390 px.
//
// This test runs its own `whatsdex serve` (META_GRAPH_URL pointed at tests/browser/
// fake-graph.mjs), so it needs the debug binary (WHATSDEX_BIN overrides the path).
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createRequire } from 'node:module';
import { after, before, describe, test } from 'node:test';
import { startFakeGraph } from './fake-graph.mjs';
import { startOwnServer } from './own-server.mjs';
import {
  MOBILE,
  clickAndWait,
  launchBrowser,
  openPage,
  screenshot,
  sidewaysScroll,
  visit,
} from './helpers.mjs';

const TOKEN = 'EAAGbrowserTOKENpermanent0123456789';
const APP_SECRET = 'f1e2d3c4b5a6978899aabbccddeeff00';
const PHONE_NUMBER_ID = '106540352242922';
const WABA_ID = '102290129340398';
const CUSTOMER = '15550100200';
const PASSWORD = 'violet kettle harbour 1987';
const RUN = `${Date.now()}${Math.floor(Math.random() * 1000)}`;
const EMAIL = `ana.cloud+${RUN}@example.com`;
const require = createRequire(import.meta.url);
const AXE_PATH = require.resolve('axe-core/axe.min.js');

let base; // the app
let graph; // the fake Graph API
let server; // the app's own process
let browser;
let session;
let pairUrl;
let webhookUrl;
let verifyToken;

/** A Meta delivery with one text message from the customer, as Meta's reference shows it. */
function delivery(text) {
  return JSON.stringify({
    object: 'whatsapp_business_account',
    entry: [
      {
        id: WABA_ID,
        changes: [
          {
            value: {
              messaging_product: 'whatsapp',
              metadata: { display_phone_number: '15550100100', phone_number_id: PHONE_NUMBER_ID },
              contacts: [{ profile: { name: 'Maria Souza' }, wa_id: CUSTOMER }],
              messages: [
                {
                  from: CUSTOMER,
                  id: `wamid.HBgLMTU1NTAxMDAyMDAVAgASGBQzQTk${RUN}`,
                  timestamp: String(Math.floor(Date.now() / 1000)),
                  text: { body: text },
                  type: 'text',
                },
              ],
            },
            field: 'messages',
          },
        ],
      },
    ],
  });
}

/** `X-Hub-Signature-256` as Meta computes it: HMAC-SHA256 of the exact bytes, in hex. */
function metaSignature(secret, body) {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** axe-core's serious and critical findings on the current page, one line per rule. */
async function axeFindings(page) {
  await page.addScriptTag({ path: AXE_PATH });
  const violations = await page.evaluate(async () => {
    const result = await window.axe.run(document, { resultTypes: ['violations'] });
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      targets: v.nodes.map((n) => n.target.join(' ')),
    }));
  });
  return violations
    .filter((v) => ['serious', 'critical'].includes(v.impact) || ['heading-order', 'page-has-heading-one'].includes(v.id))
    .map((v) => `${v.impact} ${v.id}: ${v.targets.slice(0, 5).join(' | ')}`);
}

before(async () => {
  graph = await startFakeGraph({ token: TOKEN, phoneNumberId: PHONE_NUMBER_ID, wabaId: WABA_ID });
  server = await startOwnServer('cloud', { META_GRAPH_URL: graph.url });
  base = server.base;
  browser = await launchBrowser();
  session = await openPage(browser.context, { origin: base });
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await graph?.close();
});

describe('cloud api: connect a bot, Meta verifies it, a customer is answered', () => {
  test('the pairing page offers the Cloud API; a refused token is shown on its field', async () => {
    const { page } = session;
    await visit(page, `${base}/signup`);
    await page.fill('input[name=name]', 'Ana Lima');
    await page.fill('input[name=email]', EMAIL);
    await page.fill('input[name=password]', PASSWORD);
    await page.fill('input[name=workspace_name]', `Lima Bakery ${RUN}`);
    await clickAndWait(page, page.getByRole('button', { name: 'Create account' }), /^\/onboarding/);

    await visit(page, `${base}/bots`);
    await page.fill('input[name=name]', 'Bakery bot');
    await clickAndWait(page, page.getByRole('button', { name: 'Create and pair', exact: true }), /^\/bots\/[^/]+\/pair$/);
    pairUrl = page.url();
    const choice = page.getByRole('navigation', { name: 'How the bot connects to WhatsApp' });
    assert.equal(await choice.getByRole('link', { name: /Link a phone/ }).getAttribute('aria-current'), 'page');
    await clickAndWait(page, choice.getByRole('link', { name: /WhatsApp Cloud API \(official, by Meta\)/ }), /\/pair$/);
    assert.equal(await page.locator('[data-testid=qr]').count(), 0, 'no QR code for the Cloud API');

    await page.getByLabel('Phone number ID').fill(PHONE_NUMBER_ID);
    await page.getByLabel('WhatsApp Business Account ID').fill(WABA_ID);
    await page.getByLabel('Access token').fill('EAAGwrongTOKENwrongTOKEN9999');
    await page.getByLabel('App secret').fill(APP_SECRET);
    // htmx: the form comes back in place with the error on the token's field.
    await page.getByRole('button', { name: 'Check with Meta and connect' }).click();
    const error = page.locator('#access_token-error');
    await error.waitFor({ timeout: 10_000 });
    assert.match(await error.innerText(), /Meta refused this access token/);
    assert.equal(await page.getByLabel('Access token').getAttribute('aria-invalid'), 'true');
    assert.equal(await page.getByLabel('Phone number ID').inputValue(), PHONE_NUMBER_ID, 'what was typed is kept');
    assert.equal(await page.getByLabel('WhatsApp Business Account ID').inputValue(), WABA_ID);
    assert.ok(graph.requests.some((r) => r.authorization === 'Bearer EAAGwrongTOKENwrongTOKEN9999'), 'Meta was asked');
    await screenshot(page, 'cloud-api-form-error.png');
  });

  test('connected: the page shows the webhook URL and verify token, never the secrets', async () => {
    const { page } = session;
    await page.getByLabel('Access token').fill(TOKEN);
    await Promise.all([
      page.waitForURL(pairUrl, { timeout: 30_000 }),
      page.getByRole('button', { name: 'Check with Meta and connect' }).click(),
    ]);
    await page.locator('[data-testid=cloud-connection]').waitFor();
    webhookUrl = await page.locator('[data-testid=webhook-url]').inputValue();
    verifyToken = await page.locator('[data-testid=verify-token]').inputValue();
    assert.match(webhookUrl, new RegExp(`^${base}/webhooks/whatsapp/[A-Za-z0-9_-]{20,}$`));
    assert.ok(verifyToken.length >= 20, verifyToken);
    assert.equal((await page.locator('[data-testid=verified-name]').innerText()).trim(), 'Lima Bakery');
    assert.equal((await page.locator('[data-testid=display-number]').innerText()).trim(), '+1 555-010-0100');
    assert.equal((await page.locator('[data-testid=quality-rating]').innerText()).trim(), 'GREEN');
    assert.equal((await page.locator('[data-testid=token-hint]').innerText()).trim(), '…6789');
    assert.match(await page.locator('[data-testid=cloud-status]').innerText(), /Waiting for Meta's first webhook/);
    const html = await page.content();
    assert.ok(!html.includes(TOKEN), 'the access token is not on the page');
    assert.ok(!html.includes(APP_SECRET), 'the app secret is not on the page');
    assert.equal(await page.locator('[data-testid=qr]').count(), 0);

    // The copy button puts the URL on the clipboard.
    await browser.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
    const copy = page.getByRole('button', { name: 'Copy the callback URL' });
    await copy.click();
    await page.waitForFunction(() => document.querySelector('button[data-copy=webhook-url]').textContent.startsWith('Copied'));
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), webhookUrl);
    await screenshot(page, 'cloud-api-waiting.png');
  });

  test("Meta's handshake: the right verify token echoes the challenge, another is refused", async () => {
    const right = await fetch(
      `${webhookUrl}?hub.mode=subscribe&hub.verify_token=${encodeURIComponent(verifyToken)}&hub.challenge=1158201444`,
    );
    assert.equal(right.status, 200);
    assert.equal(await right.text(), '1158201444');
    const wrong = await fetch(`${webhookUrl}?hub.mode=subscribe&hub.verify_token=guess&hub.challenge=1158201444`);
    assert.equal(wrong.status, 403);
  });

  test('a signed webhook turns the page to Connected, live; the customer is answered', async () => {
    const { page } = session;
    // Set on this document: still there after the change means no reload happened.
    await page.evaluate(() => {
      window.__sameDocument = true;
    });
    const forged = delivery('ping');
    const refused = await fetch(webhookUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-hub-signature-256': metaSignature('not-the-secret', forged) },
      body: forged,
    });
    assert.equal(refused.status, 401, 'a wrong signature is refused');

    const body = delivery('ping');
    const accepted = await fetch(webhookUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-hub-signature-256': metaSignature(APP_SECRET, body) },
      body,
    });
    assert.equal(accepted.status, 200, await accepted.text());

    await page.locator('[data-testid=cloud-status][data-state=connected]').waitFor({ timeout: 15_000 });
    assert.match(await page.locator('[data-testid=cloud-status]').innerText(), /Connected/);
    const panel = page.locator('[data-testid=latest-messages]');
    await panel.locator('[data-direction=out]').filter({ hasText: 'pong' }).waitFor({ timeout: 15_000 });
    const inbound = panel.locator('[data-direction=in]');
    assert.equal(await inbound.count(), 1);
    assert.match(await inbound.innerText(), /Maria Souza \(\+15550100200\)/);
    assert.match(await inbound.innerText(), /ping/);
    const outbound = panel.locator('[data-direction=out]').first();
    assert.match(await outbound.locator('[data-testid=message-status]').innerText(), /sent|delivered|read/);
    assert.equal(await page.evaluate(() => window.__sameDocument), true, 'no reload');

    const sent = graph.sent();
    assert.equal(sent.length, 1, JSON.stringify(graph.requests));
    assert.equal(sent[0].path, `/v23.0/${PHONE_NUMBER_ID}/messages`);
    assert.equal(sent[0].authorization, `Bearer ${TOKEN}`);
    assert.equal(sent[0].body.messaging_product, 'whatsapp');
    assert.equal(sent[0].body.to, CUSTOMER);
    assert.equal(sent[0].body.type, 'text');
    assert.match(sent[0].body.text.body, /pong/);
    await screenshot(page, 'cloud-api-connected.png');
    // The 422 that refused the wrong token is the refusal the first step asserts.
    const problems = session
      .problems()
      .filter((p) => !/(status of 422 \(Unprocessable Entity\) \(\S+\/cloud:0\)|POST \S+\/cloud: HTTP 422)/.test(p));
    assert.deepEqual(problems, [], 'no console errors, page errors or failed requests');
  });

  test('the connected page passes axe and fits 390 px', async () => {
    const phone = await launchBrowser({ viewport: MOBILE, bypassCSP: true });
    try {
      const { page } = await openPage(phone.context, { origin: base });
      await visit(page, `${base}/login`);
      await page.fill('input[name=email]', EMAIL);
      await page.fill('input[name=password]', PASSWORD);
      await clickAndWait(page, page.getByRole('button', { name: 'Sign in' }), /^\/(dashboard|onboarding)/);
      await visit(page, pairUrl);
      await page.locator('[data-testid=cloud-status][data-state=connected]').waitFor();
      await page.locator('details.cloud-reconnect summary').click();
      assert.equal(await sidewaysScroll(page), 0, 'no sideways scrolling at 390 px');
      assert.deepEqual(await axeFindings(page), [], 'axe at 390 px');
      await screenshot(page, 'cloud-api-connected-390.png');
    } finally {
      await phone.close();
    }
  });
});
