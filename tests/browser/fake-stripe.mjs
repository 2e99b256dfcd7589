// A local stand-in for Stripe, for the billing browser test: the two API calls WhatsDeX
// makes (Checkout Session and Billing Portal Session creation) answered with Stripe's own
// response shapes (tests/fixtures/stripe/*.json), and a hosted checkout page whose "Pay"
// button does what Stripe does after a payment: it sends the signed webhook events
// (checkout.session.completed, customer.subscription.created, invoice.paid) to the app,
// then sends the browser to the session's success_url.
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { REPO_ROOT } from './helpers.mjs';

const FIXTURES = path.join(REPO_ROOT, 'tests', 'fixtures', 'stripe');
const fixture = (name) => JSON.parse(readFileSync(path.join(FIXTURES, name), 'utf8'));

/** The `Stripe-Signature` header Stripe sends: HMAC-SHA256 of "t.body" with the secret. */
export function stripeSignature(secret, t, body) {
  const v1 = createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
  return `t=${t},v1=${v1}`;
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    let data = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => (data += chunk));
    req.on('end', () => resolve(data));
    req.on('error', reject);
  });
}

/**
 * Start the fake. `secretKey` is the API key the app must send, `webhookSecret` signs the
 * events, `webhookUrl()` says where to deliver them, `prices` maps price ids to plan names.
 * Resolves to { url, requests, deliveries, close }.
 */
export async function startFakeStripe({ secretKey, webhookSecret, webhookUrl }) {
  const sessions = new Map();
  const subscriptions = new Map();
  const requests = [];
  const deliveries = [];
  let counter = 0;
  let base = '';

  async function deliver(type, object) {
    counter += 1;
    const body = JSON.stringify({
      id: `evt_browser_${Date.now()}_${counter}`,
      object: 'event',
      api_version: '2025-10-29.clover',
      created: Math.floor(Date.now() / 1000),
      data: { object },
      livemode: false,
      pending_webhooks: 1,
      request: { id: null, idempotency_key: null },
      type,
    });
    const t = Math.floor(Date.now() / 1000);
    const res = await fetch(webhookUrl(), {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'stripe-signature': stripeSignature(webhookSecret, t, body) },
      body,
      signal: AbortSignal.timeout(10_000),
    });
    deliveries.push({ type, status: res.status, answer: await res.text() });
  }

  const server = http.createServer(async (req, res) => {
    try {
      const url = new URL(req.url, base);
      const body = req.method === 'POST' ? await readBody(req) : '';
      const form = new URLSearchParams(body);
      if (url.pathname.startsWith('/v1/')) {
        requests.push({ path: url.pathname, form: Object.fromEntries(form), idempotencyKey: req.headers['idempotency-key'] });
        if (req.headers.authorization !== `Bearer ${secretKey}`) {
          res.writeHead(401, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: { type: 'invalid_request_error', message: 'Invalid API Key provided' } }));
          return;
        }
      }
      const now = Math.floor(Date.now() / 1000);
      if (url.pathname === '/favicon.ico') {
        res.writeHead(204);
        res.end();
        return;
      }
      if (req.method === 'POST' && url.pathname === '/v1/checkout/sessions') {
        counter += 1;
        const session = fixture('checkout_session.json');
        session.id = `cs_test_browser_${counter}`;
        session.created = now;
        session.expires_at = now + 86_400;
        session.url = `${base}/c/pay/${session.id}`;
        session.client_reference_id = form.get('client_reference_id');
        session.customer_email = form.get('customer_email');
        session.success_url = form.get('success_url');
        session.cancel_url = form.get('cancel_url');
        session.metadata = { tenant_id: form.get('metadata[tenant_id]') };
        sessions.set(session.id, { session, price: form.get('line_items[0][price]') });
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(session));
        return;
      }
      // The app reads a subscription's current state when an event says it changed.
      const wanted = /^\/v1\/subscriptions\/([A-Za-z0-9_]+)$/.exec(url.pathname);
      if (req.method === 'GET' && wanted) {
        const subscription = subscriptions.get(wanted[1]);
        res.writeHead(subscription ? 200 : 404, { 'content-type': 'application/json' });
        res.end(JSON.stringify(subscription ?? { error: { type: 'invalid_request_error', code: 'resource_missing', message: `No such subscription: '${wanted[1]}'` } }));
        return;
      }
      if (req.method === 'POST' && url.pathname === '/v1/billing_portal/sessions') {
        const portal = fixture('billing_portal_session.json');
        portal.customer = form.get('customer');
        portal.return_url = form.get('return_url');
        portal.url = `${base}/p/session/test`;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(portal));
        return;
      }
      const pay = /^\/c\/pay\/([A-Za-z0-9_]+)$/.exec(url.pathname);
      if (pay && sessions.has(pay[1])) {
        const { session, price } = sessions.get(pay[1]);
        if (req.method === 'GET') {
          res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
          res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Checkout (test)</title></head>
<body><main><h1>Test checkout</h1><p>Subscription: <code>${price}</code> for ${session.customer_email}</p>
<form method="post"><button type="submit">Pay and subscribe</button></form></main></body></html>`);
          return;
        }
        // Paid: Stripe creates the customer and the subscription, then tells the app.
        const customer = `cus_browser_${counter}`;
        const subscription = `sub_browser_${counter}`;
        const tenant = session.client_reference_id;
        const subscriptionObject = {
          id: subscription,
          object: 'subscription',
          customer,
          status: 'active',
          metadata: { tenant_id: tenant },
          cancel_at_period_end: false,
          items: {
            object: 'list',
            data: [{
              id: `si_${subscription}`,
              object: 'subscription_item',
              current_period_start: now,
              current_period_end: now + 2_592_000,
              price: { id: price, object: 'price', type: 'recurring', recurring: { interval: 'month', interval_count: 1 } },
              quantity: 1,
            }],
          },
          trial_end: null,
        };
        subscriptions.set(subscription, subscriptionObject);
        await deliver('checkout.session.completed', {
          ...session,
          status: 'complete',
          payment_status: 'paid',
          customer,
          subscription,
        });
        await deliver('customer.subscription.created', subscriptionObject);
        await deliver('invoice.paid', {
          id: `in_browser_${counter}`,
          object: 'invoice',
          customer,
          status: 'paid',
          parent: { type: 'subscription_details', subscription_details: { subscription, metadata: {} } },
        });
        res.writeHead(303, { location: session.success_url });
        res.end();
        return;
      }
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { type: 'invalid_request_error', message: `Unrecognized request URL (${req.method}: ${url.pathname})` } }));
    } catch (err) {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(err));
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${server.address().port}`;
  return {
    url: base,
    requests,
    deliveries,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}
