// Starts the real sealpost binary on free loopback ports with a fresh data
// directory (SQLite), and Debian's Chromium through playwright-core.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import AxeBuilder from '@axe-core/playwright';
import { chromium } from 'playwright-core';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const targetDir = process.env.CARGO_TARGET_DIR ? resolve(process.env.CARGO_TARGET_DIR) : join(root, 'target');

export const binary = process.env.SEALPOST_BIN ?? join(targetDir, 'debug', 'sealpost');
export const siteDir = process.env.SEALPOST_TEST_SITE_DIR ?? join(targetDir, 'site');

async function freePort() {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => ok(port));
    });
  });
}

/** A running sealpost node; `admin` holds the first administrator it printed. */
export async function startSealpost(extraEnv = {}) {
  if (!existsSync(binary)) throw new Error(`${binary} is missing: build it with cargo build -p server`);
  if (!existsSync(join(siteDir, 'pkg', 'app_bg.wasm'))) throw new Error(`the client bundle is missing in ${siteDir}: run make site`);
  const dataDir = mkdtempSync(join(tmpdir(), 'sealpost-e2e-'));
  const httpPort = await freePort();
  const smtpPort = await freePort();
  const url = `http://127.0.0.1:${httpPort}`;
  const child = spawn(binary, ['serve'], {
    env: {
      PATH: process.env.PATH,
      RUST_LOG: 'warn',
      SEALPOST_DATA_DIR: dataDir,
      SEALPOST_HTTP_ADDR: `127.0.0.1:${httpPort}`,
      SEALPOST_SMTP_ADDR: `127.0.0.1:${smtpPort}`,
      SEALPOST_PUBLIC_URL: url,
      SEALPOST_SITE_DIR: siteDir,
      SEALPOST_DEV_MODE: 'true',
      ...extraEnv,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => { stdout += d; });
  child.stderr.on('data', (d) => { stderr += d; });
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`sealpost exited ${child.exitCode}: ${stderr}`);
    try {
      const r = await fetch(`${url}/healthz`);
      if (r.ok) break;
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) throw new Error(`sealpost did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const email = /Email:\s+(\S+)/.exec(stdout)?.[1];
  const password = /Password:\s+(\S+)/.exec(stdout)?.[1];
  return {
    url,
    admin: { email, password },
    /** Runs a sealpost command against this node's data. */
    cli(args, input) {
      const r = spawnSync(binary, args, {
        env: { PATH: process.env.PATH, RUST_LOG: 'warn', SEALPOST_DATA_DIR: dataDir },
        input: input ?? '',
        encoding: 'utf8',
      });
      if (r.status !== 0) throw new Error(`sealpost ${args.join(' ')}: ${r.stderr}`);
      return r.stdout;
    },
    /** The newest mail in the local outbox to `to`, as its source text. */
    async mailTo(to, count = 1) {
      for (let i = 0; i < 100; i++) {
        const list = await (await fetch(`${url}/dev/outbox`)).text();
        const rows = [...list.matchAll(/<tr><td>[^<]*<\/td><td>([^<]*)<\/td><td><a href="(\/dev\/outbox\/[^"]+)"/g)]
          .filter((m) => m[1] === to);
        if (rows.length >= count) {
          const page = await (await fetch(`${url}${rows[0][2]}`)).text();
          return page.replaceAll('&amp;', '&').replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&quot;', '"');
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`no mail to ${to} in the outbox`);
    },
    /** Runs one SQL statement on this node's SQLite database (e.g. to let time pass). */
    sql(statement) {
      const r = spawnSync('python3', ['-c', 'import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute(sys.argv[2]); c.commit()',
        join(dataDir, 'sealpost.db'), statement], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`sql ${statement}: ${r.stderr}`);
    },
    output: () => ({ stdout, stderr }),
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export async function launchChromium() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
}

/** A new page that records console errors and uncaught exceptions. */
export async function watchedPage(browser, options = {}) {
  const context = await browser.newContext(options);
  const page = await context.newPage();
  const problems = [];
  page.on('console', (msg) => { if (msg.type() === 'error') problems.push(`console: ${msg.text()}`); });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  return { page, problems, context };
}

/**
 * An organization user signs in through the page, as a person would: the
 * form filled and sent, the home page reached. Returns the watched page.
 */
export async function signIn(browser, node, email, password, options = {}) {
  const watched = await watchedPage(browser, options);
  await watched.page.goto(`${node.url}/login`);
  await watched.page.fill('#email', email);
  await watched.page.fill('#password', password);
  await Promise.all([watched.page.waitForURL(`${node.url}/`), watched.page.click('button[type=submit]')]);
  return watched;
}

export async function waitForHydration(page) {
  await page.waitForSelector('body[data-hydrated="true"]', { timeout: 20_000 });
}

/** No WCAG 2.2 A/AA violations that axe can find on the page as it is now. */
export async function assertAccessible(page, what) {
  const results = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']).analyze();
  const found = results.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  assert.deepEqual(found, [], `accessibility violations on ${what}`);
}
