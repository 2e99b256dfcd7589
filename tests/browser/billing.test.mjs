// Browser test for billing, end to end: a workspace on the Free plan hits its one-bot
// limit, follows the upgrade link, picks Starter, pays on the (fake) Stripe checkout page,
// Stripe's signed webhooks reach the app, the billing page shows the new limit, and the
// second bot can be created.
//
// This test runs its own `whatsdex serve` (trials off, Stripe pointed at a local fake that
// speaks Stripe's wire format), so it needs the debug binary that scripts/test builds
// (WHATSDEX_BIN overrides the path).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startFakeStripe } from './fake-stripe.mjs';
import { startOwnServer } from './own-server.mjs';
import { launchBrowser, openPage, screenshot, visit } from './helpers.mjs';

const SECRET_KEY = 'sk_test_browser_4eC39HqLyjWDarjtT1zdp7dc';
const WEBHOOK_SECRET = 'whsec_browser_0123456789abcdef';
const PASSWORD = 'violet kettle harbour 1987';
const RUN = `${Date.now()}${Math.floor(Math.random() * 1000)}`;
const NAV_TIMEOUT = 30_000;

let base; // the app
let stripe; // the fake
let server; // the app's own process
let browser;
let session;

/** Click a submit button and wait for the navigation that follows. */
async function submit(page, button) {
  const [response] = await Promise.all([
    page.waitForNavigation({ waitUntil: 'load', timeout: NAV_TIMEOUT }),
    button.click(),
  ]);
  return response;
}

before(async () => {
  stripe = await startFakeStripe({
    secretKey: SECRET_KEY,
    webhookSecret: WEBHOOK_SECRET,
    webhookUrl: () => `${base}/webhooks/stripe`,
  });
  server = await startOwnServer('billing', {
    TRIAL_DAYS: '0',
    STRIPE_SECRET_KEY: SECRET_KEY,
    STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
    STRIPE_API_BASE: stripe.url,
    STRIPE_PRICE_STARTER: 'price_starter_browser',
    STRIPE_PRICE_PRO: 'price_pro_browser',
    STRIPE_PRICE_BUSINESS: 'price_business_browser',
  });
  base = server.base;
  browser = await launchBrowser();
  session = await openPage(browser.context, { origin: base });
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await stripe?.close();
});

describe('billing: hit the free limit, upgrade through Stripe, use the new limit', () => {
  test('a free workspace is refused a second bot, with a link to upgrade', async () => {
    const { page } = session;
    await visit(page, `${base}/signup`);
    await page.fill('input[name=name]', 'Ana Lima');
    await page.fill('input[name=email]', `ana.billing+${RUN}@example.com`);
    await page.fill('input[name=password]', PASSWORD);
    await page.fill('input[name=workspace_name]', `Lima Bakery ${RUN}`);
    await submit(page, page.getByRole('button', { name: 'Create account' }));
    assert.equal(new URL(page.url()).pathname, '/onboarding/plan', 'sign-up opens the wizard');

    await visit(page, `${base}/bots`);
    await page.fill('input[name=name]', 'First bot');
    await submit(page, page.getByRole('button', { name: 'Create and pair', exact: true }));
    assert.match(new URL(page.url()).pathname, /^\/bots\/[^/]+\/pair$/, 'the first bot is created');

    await visit(page, `${base}/bots`);
    await page.fill('input[name=name]', 'Second bot');
    const refused = await submit(page, page.getByRole('button', { name: 'Create and pair', exact: true }));
    assert.equal(refused.status(), 403, 'POST /bots over the limit');
    const limit = page.locator('[data-testid=plan-limit]');
    assert.equal(
      (await limit.innerText()).trim(),
      'Bots limit reached (1 of 1). Upgrade to Starter to unlock it. See plans',
    );
    assert.equal(await page.inputValue('input[name=name]'), 'Second bot', 'what was typed is kept');
    await screenshot(page, 'billing-bot-limit.png');
  });

  test('the upgrade page leads to Stripe checkout; paying sends the webhooks', async () => {
    const { page } = session;
    await Promise.all([
      page.waitForURL(`${base}/billing/upgrade`, { timeout: NAV_TIMEOUT }),
      page.locator('[data-testid=plan-limit] a').click(),
    ]);
    const starter = page.locator('article[data-plan=starter]');
    assert.match(await starter.innerText(), /3 bots/);
    assert.match(await page.locator('article[data-plan=free]').innerText(), /your plan/i);
    await screenshot(page, 'billing-upgrade.png');

    await submit(page, starter.getByRole('button', { name: 'Choose Starter' }));
    assert.equal(new URL(page.url()).origin, stripe.url, 'on the (fake) Stripe checkout page');
    const created = stripe.requests.find((r) => r.path === '/v1/checkout/sessions');
    assert.equal(created.form['line_items[0][price]'], 'price_starter_browser');
    assert.equal(created.form.mode, 'subscription');
    assert.ok(created.idempotencyKey, 'the checkout call carries an idempotency key');
    await screenshot(page, 'billing-fake-checkout.png');

    await submit(page, page.getByRole('button', { name: 'Pay and subscribe' }));
    assert.deepEqual(
      stripe.deliveries.map((d) => [d.type, d.status]),
      [
        ['checkout.session.completed', 200],
        ['customer.subscription.created', 200],
        ['invoice.paid', 200],
      ],
      JSON.stringify(stripe.deliveries),
    );
    const url = new URL(page.url());
    assert.equal(url.pathname, '/billing');
    assert.equal(url.searchParams.get('checkout'), 'success');
  });

  test('the billing page shows the new limit and the second bot can be created', async () => {
    const { page } = session;
    assert.match(await page.locator('[data-testid=current-plan]').innerText(), /Starter/);
    assert.equal(
      (await page.locator('tr[data-quota=Bots] td').nth(1).innerText()).trim(),
      '1 of 3',
    );
    await screenshot(page, 'billing-after-upgrade.png');

    await visit(page, `${base}/bots`);
    await page.fill('input[name=name]', 'Second bot');
    await submit(page, page.getByRole('button', { name: 'Create and pair', exact: true }));
    assert.match(new URL(page.url()).pathname, /^\/bots\/[^/]+\/pair$/, 'the second bot is created');
    // A pairing page's status poll cut short by leaving the page is not an error of the page.
    const problems = session
      .problems()
      .filter((p) => !/^failed request: GET \S+\/bots\/[^/]+\/pair\/status: net::ERR_ABORTED$/.test(p))
      // The refused POST /bots (a 403 document) is the refusal the first step asserts.
      .filter(
        (p) =>
          !p.startsWith(
            `console error: Failed to load resource: the server responded with a status of 403 (Forbidden) (${base}/bots:0)`,
          ),
      );
    assert.deepEqual(problems, [], 'no console errors, page errors or failed requests');
  });
});
