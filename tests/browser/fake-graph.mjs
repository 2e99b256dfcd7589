// A local stand-in for Meta's Graph API (WhatsApp Cloud API), for the Cloud API browser
// test: the calls WhatsDeX makes, answered with Meta's own response shapes — the phone
// number's details, the business account's message templates, a sent message's id — and
// Meta's error 190 (HTTP 401) for any other access token. Every request is recorded.
import http from 'node:http';

export const GRAPH_VERSION = 'v23.0';

function readBody(req) {
  return new Promise((resolve, reject) => {
    let data = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => (data += chunk));
    req.on('end', () => resolve(data));
    req.on('error', reject);
  });
}

function send(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Meta's error body for an access token it does not accept. */
function invalidToken(res) {
  send(res, 401, {
    error: {
      message: 'Error validating access token: Session has expired.',
      type: 'OAuthException',
      code: 190,
      error_subcode: 463,
      fbtrace_id: 'AbCdEfGhIjKlMnOpQrStUv',
    },
  });
}

function invalidParameter(res) {
  send(res, 400, {
    error: {
      message: '(#100) Invalid parameter',
      type: 'OAuthException',
      code: 100,
      error_data: { messaging_product: 'whatsapp', details: 'Parameter value is not valid' },
      fbtrace_id: 'AbCdEfGhIjKlMnOpQrStUv',
    },
  });
}

/**
 * Start the fake for one number: `token` is the only access token it accepts,
 * `phoneNumberId` and `wabaId` the number and business account it knows.
 * Resolves to { url, requests, sent(), close }.
 */
export async function startFakeGraph({ token, phoneNumberId, wabaId }) {
  const requests = [];
  let counter = 0;

  const server = http.createServer(async (req, res) => {
    const raw = await readBody(req);
    let body = null;
    try {
      body = raw ? JSON.parse(raw) : null;
    } catch {
      body = raw;
    }
    const url = new URL(req.url, 'http://fake-graph.invalid');
    const recorded = {
      method: req.method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      authorization: req.headers.authorization || null,
      body,
    };
    requests.push(recorded);
    if (recorded.authorization !== `Bearer ${token}`) return invalidToken(res);
    const parts = url.pathname.split('/').filter(Boolean);
    if (parts[0] !== GRAPH_VERSION) return invalidParameter(res);
    const [id, edge] = parts.slice(1);
    if (req.method === 'GET' && id === phoneNumberId && !edge) {
      return send(res, 200, {
        verified_name: 'Lima Bakery',
        display_phone_number: '+1 555-010-0100',
        quality_rating: 'GREEN',
        id: phoneNumberId,
      });
    }
    if (req.method === 'GET' && id === wabaId && edge === 'message_templates') {
      return send(res, 200, {
        data: [
          {
            name: 'order_ready',
            language: 'en_US',
            category: 'UTILITY',
            status: 'APPROVED',
            id: '900000012',
            components: [{ type: 'BODY', text: 'Hello {{1}}, your order {{2}} is ready.' }],
          },
        ],
        paging: { cursors: { before: 'QVFIU0', after: 'QVFIU1' } },
      });
    }
    if (req.method === 'POST' && id === phoneNumberId && edge === 'messages') {
      counter += 1;
      const to = body && typeof body.to === 'string' ? body.to : '';
      return send(res, 200, {
        messaging_product: 'whatsapp',
        contacts: [{ input: to, wa_id: to.replace(/^\+/, '') }],
        messages: [{ id: `wamid.HBgLMTU1NTAxMDAyMDAVAgARGBI${String(counter).padStart(4, '0')}` }],
      });
    }
    return invalidParameter(res);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    /** The message sends received so far. */
    sent: () => requests.filter((r) => r.method === 'POST' && r.path.endsWith('/messages')),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(resolve);
      }),
  };
}
