// Google sign-in in Chromium, with a local OpenID Connect provider (PyPI
// oidc-provider-mock) standing in for Google: the recipient's own verified
// address opens the message; another address is told who it signed in as.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { assertAccessible, startSealpost, launchChromium, signIn, watchedPage } from '../support/sealpost.mjs';

let node;
let browser;
let provider;

async function freePort() {
  return new Promise((ok) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => ok(port));
    });
  });
}

before(async () => {
  const port = await freePort();
  const idp = `http://127.0.0.1:${port}`;
  const user = (sub, email) => ['--user-claims', JSON.stringify({ sub, email, email_verified: true })];
  provider = spawn('oidc-provider-mock', ['-p', String(port), ...user('bob', 'bob@gmail.example'), ...user('eve', 'eve@gmail.example')], { stdio: 'ignore' });
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${idp}/.well-known/openid-configuration`)).ok) break;
    } catch { /* not yet listening */ }
    if (i > 200) throw new Error('oidc-provider-mock did not start (make test-deps installs it)');
    await new Promise((r) => setTimeout(r, 100));
  }
  node = await startSealpost({
    SEALPOST_OAUTH_GOOGLE_CLIENT_ID: 'sealpost-e2e',
    SEALPOST_OAUTH_GOOGLE_CLIENT_SECRET: 'not-so-secret',
    SEALPOST_OAUTH_GOOGLE_AUTH_URL: `${idp}/oauth2/authorize`,
    SEALPOST_OAUTH_GOOGLE_TOKEN_URL: `${idp}/oauth2/token`,
    SEALPOST_OAUTH_GOOGLE_USERINFO_URL: `${idp}/userinfo`,
  });
  node.cli(['user', 'add', '--email', 'alice@corp.example', '--role', 'sender', '--password-stdin'], 'alice long password\n');
  browser = await launchChromium();

  const { page, context } = await signIn(browser, node, 'alice@corp.example', 'alice long password');
  await page.goto(`${node.url}/compose`);
  await page.fill('#to', 'bob@gmail.example');
  await page.fill('#subject', 'Launch plan');
  await page.fill('#body', 'We launch on Monday.');
  await Promise.all([page.waitForURL(`${node.url}/compose`), page.click('button[type=submit]')]);
  await context.close();
});

after(async () => {
  await browser?.close();
  await node?.stop();
  provider?.kill();
});

/** Clicks "Sign in with Google" and picks the provider's user `sub`. */
async function signInWithGoogle(page, link, sub) {
  await page.goto(link);
  await Promise.all([page.waitForURL(/oauth2\/authorize/), page.click('text=Sign in with Google')]);
  await page.fill('input[name=sub]', sub);
  await Promise.all([page.waitForURL(link), page.click('button:has-text("Authorize")')]);
}

test('the recipient signs in with Google and reads the message; someone else is turned away', async () => {
  const link = /http:\/\/127\.0\.0\.1:\d+\/r\/[A-Za-z0-9_-]{43}/.exec(await node.mailTo('bob@gmail.example'))[0];

  const bob = await watchedPage(browser);
  await signInWithGoogle(bob.page, link, 'bob');
  // The stand-in provider's own page fetches a stylesheet from the Internet;
  // only sealpost's pages are judged.
  bob.problems.length = 0;
  await bob.page.reload();
  assert.equal((await bob.page.textContent('#subject')).trim(), 'Launch plan');
  assert.match(await bob.page.textContent('#body'), /We launch on Monday\./);
  assert.deepEqual(bob.problems, [], 'no console errors');
  await bob.context.close();

  const eve = await watchedPage(browser);
  await signInWithGoogle(eve.page, link, 'eve');
  assert.equal(
    (await eve.page.textContent('h1')).trim(),
    'You signed in as eve@gmail.example, but this message was sent to bob@gmail.example.',
  );
  assert.equal(await eve.page.isVisible('text=We launch on Monday.'), false);
  await assertAccessible(eve.page, 'the signed-in-as-someone-else page');
  // Signing out offers the sign-in again.
  await Promise.all([eve.page.waitForURL(link), eve.page.click('text=Sign out and sign in as bob@gmail.example')]);
  assert.equal(await eve.page.isVisible('text=Sign in with Google'), true);
  await eve.context.close();
});
