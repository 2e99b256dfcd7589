// Browser tests for the public pages: landing page, 404 page, health endpoints.
// Run by scripts/test against a live `whatsdex serve`; WHATSDEX_BASE_URL points at it.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  DESKTOP,
  MOBILE,
  baseUrl,
  getJson,
  launchBrowser,
  openPage,
  screenshot,
  visit,
} from './helpers.mjs';

const BASE = baseUrl();

let browser;
before(async () => {
  browser = await launchBrowser({ viewport: DESKTOP });
});
after(async () => {
  await browser?.close();
});

/** Stylesheets whose URL path is `pathname` and whose rules the page could read. */
async function loadedSheet(page, pathname) {
  return page.evaluate((wanted) => {
    for (const sheet of document.styleSheets) {
      if (!sheet.href) continue;
      if (new URL(sheet.href).pathname !== wanted) continue;
      try {
        return { href: sheet.href, rules: sheet.cssRules.length };
      } catch {
        return { href: sheet.href, rules: 0 };
      }
    }
    return null;
  }, pathname);
}

async function assertStylesLoaded(page) {
  const pico = await loadedSheet(page, '/static/pico.min.css');
  assert.ok(pico, 'pico.min.css is not linked (or failed to load)');
  assert.ok(pico.rules > 0, `pico.min.css has no rules: ${JSON.stringify(pico)}`);
  const app = await loadedSheet(page, '/static/app.css');
  assert.ok(app, 'app.css is not linked (or failed to load)');
  assert.ok(app.rules > 0, `app.css has no rules: ${JSON.stringify(app)}`);

  // The rules apply, not just parse: Pico's and our custom properties are set.
  const vars = await page.evaluate(() => {
    const root = getComputedStyle(document.documentElement);
    return {
      picoFont: root.getPropertyValue('--pico-font-family').trim(),
      primary: root.getPropertyValue('--pico-primary').trim(),
      brand: root.getPropertyValue('--wdx-green').trim(),
    };
  });
  assert.ok(vars.picoFont, 'Pico CSS variables are missing (--pico-font-family is empty)');
  assert.ok(vars.brand, 'app.css variables are missing (--wdx-green is empty)');
}

describe('landing page', () => {
  test('renders with htmx, Pico and app.css, without errors', async () => {
    const { page, problems } = await openPage(browser.context);
    const response = await visit(page, `${BASE}/`);

    assert.equal(response.status(), 200, 'GET / status');
    const csp = response.headers()['content-security-policy'] ?? '';
    assert.match(csp, /default-src 'self'/, `Content-Security-Policy header: "${csp}"`);

    assert.equal(await page.locator('h1').count() > 0, true, 'page has an <h1>');
    assert.ok((await page.locator('h1').first().innerText()).trim(), '<h1> has text');

    assert.equal(await page.evaluate(() => typeof window.htmx), 'object', 'htmx is loaded');
    await assertStylesLoaded(page);

    // Any <a>, whatever its role: Pico styles call-to-action links as role="button".
    const cta = page.locator('a[href]', { hasText: /sign up|get started|start free/i });
    assert.ok((await cta.count()) > 0, 'a "Start free" / "Sign up" / "Get started" link exists');
    assert.ok(await cta.first().getAttribute('href'), 'the sign-up link has an href');

    const pricing = page.locator('#pricing');
    assert.equal(await pricing.count(), 1, 'there is one #pricing section');
    const pricingText = await pricing.innerText();
    for (const plan of ['Free', 'Pro']) {
      assert.match(pricingText, new RegExp(`\\b${plan}\\b`), `pricing lists the ${plan} plan`);
    }

    await screenshot(page, 'landing.png');

    // Mobile: same page at phone size, no sideways scrolling.
    await page.setViewportSize(MOBILE);
    await visit(page, `${BASE}/`);
    const overflow = await page.evaluate(
      () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
    );
    assert.ok(overflow <= 1, `page scrolls sideways by ${overflow}px at ${MOBILE.width}px wide`);
    await screenshot(page, 'landing-mobile.png');

    assert.deepEqual(problems(), [], 'no console errors, page errors or failed requests');
    await page.close();
  });
});

describe('not found page', () => {
  test('unknown path gives a styled 404 page with a link home', async () => {
    const { page, problems } = await openPage(browser.context);
    const url = `${BASE}/this-page-does-not-exist`;
    const response = await visit(page, url);

    assert.equal(response.status(), 404, 'GET /this-page-does-not-exist status');
    assert.match(response.headers()['content-type'] ?? '', /text\/html/, '404 page is HTML');
    await assertStylesLoaded(page);

    const home = page.locator('a[href="/"]');
    assert.ok((await home.count()) > 0, 'the 404 page links back to /');

    await screenshot(page, 'not-found.png');

    // Chromium reports the 404 document itself as a console error; that one is expected.
    const unexpected = problems().filter(
      (p) => !(p.startsWith('console error: Failed to load resource') && p.includes(`(${url}:`)),
    );
    assert.deepEqual(unexpected, [], 'no console errors, page errors or failed requests');
    await page.close();
  });
});

describe('health endpoints', () => {
  test('/health is liveness: {"status":"ok"}', async () => {
    const { status, headers, body } = await getJson(`${BASE}/health`);
    assert.equal(status, 200, 'GET /health status');
    assert.match(headers.get('content-type') ?? '', /application\/json/);
    assert.equal(body.status, 'ok', `/health body: ${JSON.stringify(body)}`);
  });

  test('/api/health is readiness: status ok, database connected', async () => {
    const { status, body } = await getJson(`${BASE}/api/health`);
    assert.equal(status, 200, 'GET /api/health status');
    assert.equal(body.status, 'ok', `/api/health body: ${JSON.stringify(body)}`);
    assert.equal(body.database, 'connected', `/api/health body: ${JSON.stringify(body)}`);
  });
});
