// Shared helpers for the browser tests: Debian's chromium driven by playwright-core.
//
// We never download a browser (no `playwright install`): the system chromium is used,
// with a throwaway profile directory per launch.
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SCREENSHOT_DIR = path.join(REPO_ROOT, 'target', 'screenshots');

const CHROMIUM_PATH = process.env.WHATSDEX_CHROMIUM || '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-quic',
  '--disable-sync',
];

export const DESKTOP = { width: 1280, height: 800 };
export const MOBILE = { width: 390, height: 844 };

/** The server under test, from WHATSDEX_BASE_URL (no trailing slash). */
export function baseUrl() {
  const url = process.env.WHATSDEX_BASE_URL;
  if (!url) {
    throw new Error(
      'WHATSDEX_BASE_URL is not set: start `whatsdex serve` and point this at it ' +
        '(scripts/test does both), e.g. WHATSDEX_BASE_URL=http://127.0.0.1:8080',
    );
  }
  return url.replace(/\/+$/, '');
}

/**
 * Launch chromium with a fresh profile (JavaScript on unless `javaScriptEnabled: false`).
 * Returns { context, close }.
 * `close()` shuts the browser and removes the profile directory.
 * `bypassCSP` lets a test inject its own scripts (axe-core) past our CSP.
 */
export async function launchBrowser({
  viewport = DESKTOP,
  bypassCSP = false,
  javaScriptEnabled = true,
} = {}) {
  const userDataDir = await mkdtemp(path.join(tmpdir(), 'whatsdex-chromium-'));
  let context;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM_PATH,
      // playwright adds its own --headless; ours are the exact flags we want on CI.
      headless: true,
      args: CHROMIUM_ARGS,
      viewport,
      // `false`: a browser without JavaScript, for the pages' no-script paths.
      javaScriptEnabled,
      // Keep the tests deterministic: no service workers, light colour scheme.
      serviceWorkers: 'block',
      colorScheme: 'light',
      bypassCSP,
      timeout: 60_000,
    });
  } catch (err) {
    await rm(userDataDir, { recursive: true, force: true });
    throw err;
  }
  return {
    context,
    async close() {
      await context.close().catch(() => {});
      await rm(userDataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Open a new page that records problems while it is used:
 *   consoleErrors  console messages of type "error" (CSP violations land here too)
 *   pageErrors     uncaught exceptions in the page
 *   failedRequests requests that failed at the network level, and same-origin
 *                  responses with status >= 400 other than the document itself
 * `problems()` gives all three in one list for a single assertion.
 */
export async function openPage(context, { origin = baseUrl() } = {}) {
  const page = await context.newPage();
  const consoleErrors = [];
  const pageErrors = [];
  const failedRequests = [];

  page.on('console', (msg) => {
    if (msg.type() === 'error') {
      const loc = msg.location();
      consoleErrors.push(
        `${msg.text()}${loc && loc.url ? ` (${loc.url}:${loc.lineNumber})` : ''} on ${page.url()}`,
      );
    }
  });
  page.on('pageerror', (err) => pageErrors.push(String(err && err.stack ? err.stack : err)));
  page.on('requestfailed', (req) => {
    const failure = req.failure();
    failedRequests.push(`${req.method()} ${req.url()}: ${failure ? failure.errorText : 'failed'}`);
  });
  page.on('response', (res) => {
    const req = res.request();
    // A 404 document is what some tests ask for; its sub-resources must still load.
    if (req.isNavigationRequest() && req.frame() === page.mainFrame()) return;
    if (res.status() >= 400 && sameOrigin(res.url(), origin)) {
      failedRequests.push(`${req.method()} ${res.url()}: HTTP ${res.status()}`);
    }
  });

  return {
    page,
    consoleErrors,
    pageErrors,
    failedRequests,
    problems() {
      return [
        ...consoleErrors.map((e) => `console error: ${e}`),
        ...pageErrors.map((e) => `page error: ${e}`),
        ...failedRequests.map((e) => `failed request: ${e}`),
      ];
    },
  };
}

function sameOrigin(url, origin) {
  try {
    return new URL(url).origin === new URL(origin).origin;
  } catch {
    return false;
  }
}

/** Full-page screenshot to target/screenshots/<name>.png; returns the path. */
export async function screenshot(page, name) {
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  const file = path.join(SCREENSHOT_DIR, name.endsWith('.png') ? name : `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/**
 * Click `target` and wait until a document whose path matches `pathname` (a string, or a
 * RegExp; after any redirects) has arrived and loaded, even when the URL does not change (a
 * form shown again). Returns the document's response.
 */
export async function clickAndWait(page, target, pathname, { timeout = 30_000 } = {}) {
  const matches = (url) => {
    const path = new URL(url).pathname;
    return typeof pathname === 'string' ? path === pathname : pathname.test(path);
  };
  const arrived = page.waitForResponse(
    (res) =>
      res.request().isNavigationRequest() &&
      res.request().frame() === page.mainFrame() &&
      matches(res.url()) &&
      !(res.status() >= 300 && res.status() < 400),
    { timeout },
  );
  await target.click();
  const response = await arrived;
  await page.waitForLoadState('load');
  return response;
}

/** How many pixels the page scrolls sideways (0 when it fits the viewport). */
export async function sidewaysScroll(page) {
  return page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
}

/** Navigate and wait until the network is idle, so late errors are caught too. */
export async function visit(page, url) {
  const response = await page.goto(url, { waitUntil: 'load', timeout: 30_000 });
  await page.waitForLoadState('networkidle', { timeout: 10_000 }).catch(() => {});
  return response;
}

/** Plain HTTP GET with a timeout (for JSON endpoints; no browser needed). */
export async function getJson(url) {
  const res = await fetch(url, {
    headers: { accept: 'application/json' },
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`${url} did not return JSON (HTTP ${res.status}): ${text.slice(0, 200)}`);
  }
  return { status: res.status, headers: res.headers, body };
}
