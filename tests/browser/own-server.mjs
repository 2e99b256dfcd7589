// A `whatsdex serve` of a test's own, for tests that need settings the shared server lacks
// (Stripe, Meta's Graph API pointed at a local fake): the debug binary (WHATSDEX_BIN
// overrides it) on a free port with the embedded default (SQLite in a temporary DATA_DIR,
// in-process cache) and `env` added.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from './helpers.mjs';

const BIN = process.env.WHATSDEX_BIN || path.join(REPO_ROOT, 'target', 'debug', 'whatsdex');
const READY_WITHIN_MS = 30_000;

/** A port nobody listens on just now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/**
 * Start the server with `env` (whose values may use `base`, the server's URL, when given as
 * a function of it) and wait until `/api/health` answers. Resolves to `{ base, log(), stop() }`;
 * `stop()` sends SIGTERM, waits for the exit and removes the data folder.
 */
export async function startOwnServer(name, env = {}) {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const dataDir = await mkdtemp(path.join(tmpdir(), `whatsdex-${name}-`));
  const childEnv = { ...process.env };
  for (const variable of ['DATABASE_URL', 'MIGRATION_DATABASE_URL', 'REDIS_URL']) delete childEnv[variable];
  Object.assign(childEnv, {
    PORT: String(port),
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    APP_BASE_URL: base,
    LOG_FORMAT: 'json',
    ...(typeof env === 'function' ? env(base) : env),
  });
  const child = spawn(BIN, ['serve'], { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.on('data', (d) => (log += d));
  child.stderr.on('data', (d) => (log += d));
  const server = {
    base,
    log: () => log,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
      await rm(dataDir, { recursive: true, force: true });
    },
  };
  const deadline = Date.now() + READY_WITHIN_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`whatsdex serve exited:\n${log.slice(-3000)}`);
    try {
      const res = await fetch(`${base}/api/health`, { signal: AbortSignal.timeout(2_000) });
      if (res.ok) return server;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  await server.stop();
  throw new Error(`whatsdex serve did not become ready:\n${log.slice(-3000)}`);
}
