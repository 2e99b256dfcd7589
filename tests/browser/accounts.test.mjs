// Browser test for the accounts flow, end to end in two real browsers:
//
//   Ana signs up with a new workspace, signs out, fails to sign in with a wrong password,
//   signs in, invites Bea from the Members page; Bea (a separate browser, no cookies in
//   common) opens the invitation link, creates her account and lands in Ana's workspace;
//   Ana then sees Bea listed as a member.
//
// The steps share state and run in order. Run by scripts/test against a live
// `whatsdex serve`; WHATSDEX_BASE_URL points at it. The server needs no SMTP: without it
// emails are only logged, and the invitation link is read from the Members page.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
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
const WRONG_PASSWORD = 'violet kettle harbour 1988';
const WORKSPACE = `Lima Bakery ${RUN}`;
const ANA = { name: 'Ana Lima', email: `ana+${RUN}@example.com` };
const BEA = { name: 'Bea Souza', email: `bea+${RUN}@example.com` };
const NAV_TIMEOUT = 30_000;

/** Escape a string for use inside a RegExp. */
const literal = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** A URL predicate for page.waitForURL: this path, any query. */
const at = (pathname) => (url) => url.pathname === pathname;

let anaBrowser;
let beaBrowser;
let ana; // { page, problems, ... } from openPage, in Ana's browser
let bea; // the same, in Bea's browser
let invitationUrl;
// Chromium logs every 4xx document as a console error; the sign-in form re-rendered with
// a 422 is expected once, for the wrong password. Nothing else may fail.
let expectedSignInError = false;

before(async () => {
  anaBrowser = await launchBrowser({ viewport: DESKTOP });
  beaBrowser = await launchBrowser({ viewport: DESKTOP });
  ana = await openPage(anaBrowser.context);
  bea = await openPage(beaBrowser.context);
});

after(async () => {
  await anaBrowser?.close();
  await beaBrowser?.close();
});

function assertNoProblems(who, session) {
  const unexpected = session.problems().filter(
    (p) =>
      !(
        expectedSignInError &&
        p.startsWith('console error: Failed to load resource') &&
        p.includes('status of 422') &&
        p.includes(`(${BASE}/login:`)
      ),
  );
  assert.deepEqual(unexpected, [], `${who}: no console errors, page errors or failed requests`);
}

/**
 * Submit a form by clicking its button; wait for the document at `pathname` (after any
 * redirects) to arrive and load. Returns that document's response.
 */
async function submitAndWait(page, buttonName, pathname) {
  const arrived = page.waitForResponse(
    (res) =>
      res.request().isNavigationRequest() &&
      res.request().frame() === page.mainFrame() &&
      new URL(res.url()).pathname === pathname &&
      !(res.status() >= 300 && res.status() < 400),
    { timeout: NAV_TIMEOUT },
  );
  await page.getByRole('button', { name: buttonName, exact: true }).click();
  const response = await arrived;
  await page.waitForURL(at(pathname), { timeout: NAV_TIMEOUT });
  await page.waitForLoadState('load');
  return response;
}

/** Sign out through the header's account dropdown. */
async function signOut(page, name) {
  const dropdown = page.locator('header details.dropdown');
  await dropdown.locator('summary', { hasText: name }).click();
  const button = dropdown.getByRole('button', { name: 'Sign out', exact: true });
  await button.waitFor({ state: 'visible' });
  await button.click();
  await page.waitForURL(at('/login'), { timeout: NAV_TIMEOUT });
}

describe('accounts: sign up, sign in, invite a colleague', () => {
  test('Ana signs up and lands on her workspace dashboard', async () => {
    const { page } = ana;
    const response = await visit(page, `${BASE}/signup`);
    assert.equal(response.status(), 200, 'GET /signup status');
    const form = page.locator('form[action="/signup"]');
    assert.equal(await form.locator('input[type=hidden][name=csrf_token]').count(), 1, 'csrf_token');

    await page.fill('input[name=name]', ANA.name);
    await page.fill('input[name=email]', ANA.email);
    await page.fill('input[name=password]', PASSWORD);
    await page.fill('input[name=workspace_name]', WORKSPACE);
    await screenshot(page, 'signup.png');

    // The same form at phone size, for the stylesheet's sake.
    await page.setViewportSize(MOBILE);
    assert.ok((await sidewaysScroll(page)) <= 1, '/signup does not scroll sideways on a phone');
    await screenshot(page, 'signup-mobile.png');
    await page.setViewportSize(DESKTOP);

    // A new workspace starts the onboarding wizard; its dashboard is one link away.
    await submitAndWait(page, 'Create account', '/onboarding/plan');
    assert.equal(new URL(page.url()).searchParams.get('notice'), 'welcome', 'notice=welcome');
    await visit(page, `${BASE}/dashboard`);
    assert.equal((await page.locator('main h1').innerText()).trim(), WORKSPACE, 'dashboard <h1>');
    await page.locator('.banner').waitFor({ state: 'visible' });
    assert.match(await page.locator('.banner').innerText(), /confirm your email/i, 'unverified banner');
    await page.waitForLoadState('networkidle', { timeout: 10_000 }).catch(() => {});
    await screenshot(page, 'dashboard.png');
    assertNoProblems('Ana', ana);
  });

  test('Ana signs out from the header dropdown', async () => {
    const { page } = ana;
    await signOut(page, ANA.name);
    assert.equal(await page.locator('header details.dropdown').count(), 0, 'no account menu');
    assert.equal(await page.locator('form[action="/login"]').count(), 1, 'the sign-in form shows');
    assertNoProblems('Ana', ana);
  });

  test('a wrong password is refused with a message, keeping the email', async () => {
    const { page } = ana;
    await visit(page, `${BASE}/login`);
    await page.fill('input[name=email]', ANA.email);
    await page.fill('input[name=password]', WRONG_PASSWORD);
    expectedSignInError = true;
    const response = await submitAndWait(page, 'Sign in', '/login');
    assert.equal(response.status(), 422, 'POST /login status with a wrong password');

    // The URL stays /login, so wait for what only the re-rendered form has.
    const error = page.locator('.form-error');
    await error.waitFor({ state: 'visible', timeout: NAV_TIMEOUT });
    assert.equal(
      (await error.innerText()).trim(),
      'That email and password do not match an account.',
      'form error text',
    );
    assert.equal(await page.inputValue('input[name=email]'), ANA.email, 'email is kept');
    assert.equal(await page.inputValue('input[name=password]'), '', 'password is not echoed');
    await screenshot(page, 'signin-error.png');
    assertNoProblems('Ana', ana);
  });

  test('Ana signs in with the right password', async () => {
    const { page } = ana;
    await page.fill('input[name=email]', ANA.email);
    await page.fill('input[name=password]', PASSWORD);
    await page.check('input[name=remember]');
    await submitAndWait(page, 'Sign in', '/dashboard');
    assert.equal((await page.locator('main h1').innerText()).trim(), WORKSPACE, 'dashboard <h1>');
    assert.equal(
      (await page.locator('header details.dropdown summary').innerText()).trim(),
      ANA.name,
      'the header shows who is signed in',
    );
    assertNoProblems('Ana', ana);
  });

  test('Ana invites Bea from the Members page and gets a link', async () => {
    const { page } = ana;
    await page.locator('header').getByRole('link', { name: 'Members', exact: true }).click();
    await page.waitForURL(at('/workspace/members'), { timeout: NAV_TIMEOUT });
    assert.equal((await page.locator('main h1').innerText()).trim(), 'Members');
    assert.equal(await page.locator(`tr[data-member="${ANA.email}"]`).count(), 1, 'Ana is listed');

    const form = page.locator('form[action="/workspace/members/invite"]');
    await form.locator('input[name=email]').fill(BEA.email);
    await form.locator('select[name=role]').selectOption('member');
    // The POST answers with the Members page itself (the link is shown once, not stored).
    const sent = await submitAndWait(page, 'Send invitation', '/workspace/members/invite');
    assert.equal(sent.status(), 200, 'POST /workspace/members/invite status');

    const link = page.locator('[data-testid=invite-link] input');
    await link.waitFor({ state: 'visible' });
    invitationUrl = await link.inputValue();
    assert.match(
      invitationUrl,
      new RegExp(`^${literal(BASE)}/invitations/\\S+$`),
      `invitation link: ${invitationUrl}`,
    );
    assert.match(await page.locator('main').innerText(), new RegExp(literal(BEA.email)), 'pending');
    await page.waitForLoadState('networkidle', { timeout: 10_000 }).catch(() => {});
    await screenshot(page, 'members-invite.png');
    assertNoProblems('Ana', ana);
  });

  test('Bea, in another browser, opens the link and joins with a new account', async () => {
    assert.ok(invitationUrl, 'an invitation link from the previous step');
    const { page } = bea;
    const response = await visit(page, invitationUrl);
    assert.equal(response.status(), 200, 'GET invitation status');
    assert.equal(
      (await page.locator('main h1').innerText()).trim(),
      `Join ${WORKSPACE}`,
      'invitation heading',
    );
    await screenshot(page, 'invitation.png');

    await page.getByRole('button', { name: 'Create an account and join', exact: true }).click();
    await page.waitForURL(at('/signup'), { timeout: NAV_TIMEOUT });
    const params = new URL(page.url()).searchParams;
    assert.ok(params.get('invitation'), 'sign-up URL carries the invitation');
    assert.equal(params.get('email'), BEA.email, 'sign-up URL carries the email');
    assert.equal(await page.inputValue('input[name=email]'), BEA.email, 'email prefilled');
    assert.equal(await page.locator('input[name=workspace_name]').count(), 0, 'no workspace field');

    await page.fill('input[name=name]', BEA.name);
    await page.fill('input[name=password]', PASSWORD);
    await submitAndWait(page, 'Create account', '/dashboard');
    assert.equal(new URL(page.url()).searchParams.get('notice'), 'joined', 'notice=joined');
    assert.equal((await page.locator('main h1').innerText()).trim(), WORKSPACE, 'dashboard <h1>');
    assert.equal(
      (await page.locator('header details.dropdown summary').innerText()).trim(),
      BEA.name,
      'Bea is signed in',
    );
    await page.waitForLoadState('networkidle', { timeout: 10_000 }).catch(() => {});
    await screenshot(page, 'invited-dashboard.png');
    assertNoProblems('Bea', bea);
  });

  test('Ana sees Bea among the members', async () => {
    const { page } = ana;
    await visit(page, `${BASE}/workspace/members`);
    const row = page.locator(`tr[data-member="${BEA.email}"]`);
    assert.equal(await row.count(), 1, 'Bea has a row in the members table');
    assert.match(await row.innerText(), new RegExp(literal(BEA.name)), 'with her name');
    assert.match(await row.innerText(), /\bMember\b/, 'as a Member');
    await screenshot(page, 'members.png');
    assertNoProblems('Ana', ana);
  });

  test('signed-in pages fit the screen, desktop and phone', async () => {
    const { page } = ana;
    const shots = [
      ['/dashboard', null],
      ['/workspace/members', null],
      ['/account', 'account'],
      ['/workspace/settings', 'workspace-settings'],
      ['/workspace/audit', 'audit'],
    ];
    const overflowing = [];
    try {
      for (const [viewport, suffix] of [
        [DESKTOP, ''],
        [MOBILE, '-mobile'],
      ]) {
        await page.setViewportSize(viewport);
        for (const [path, name] of shots) {
          const response = await visit(page, `${BASE}${path}`);
          assert.equal(response.status(), 200, `GET ${path} status`);
          // dashboard.png and members.png come from the flow above; phone versions here.
          const shot = name ?? (suffix ? path.split('/').pop() : null);
          if (shot) await screenshot(page, `${shot}${suffix}.png`);
          const overflow = await sidewaysScroll(page);
          if (overflow > 1) {
            overflowing.push(`${path} at ${viewport.width}px scrolls sideways by ${overflow}px`);
          }
        }
      }
    } finally {
      await page.setViewportSize(DESKTOP);
    }
    assert.deepEqual(overflowing, [], 'no page scrolls sideways');
    assertNoProblems('Ana', ana);
  });
});
