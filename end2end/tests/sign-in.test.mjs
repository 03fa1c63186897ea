// An organization user's first sign-in, in Chromium: the first administrator
// signs in with the one-time password sealpost printed, must choose their own,
// reaches the start page, uses an interactive control (proof of hydration)
// and signs out. No console errors; no accessibility violations.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { assertAccessible, startSealpost, launchChromium, watchedPage, waitForHydration } from '../support/sealpost.mjs';

let node;
let browser;

before(async () => {
  node = await startSealpost();
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await node?.stop();
});


test('the first administrator signs in, chooses a password and signs out', async () => {
  assert.equal(node.admin.email, 'admin@localhost', 'the first start prints the administrator');
  assert.match(node.admin.password, /^[A-Za-z0-9]{5}(-[A-Za-z0-9]{5}){3}$/);
  const { page, problems, context } = await watchedPage(browser);

  await page.goto(`${node.url}/login`);
  await waitForHydration(page);
  await assertAccessible(page, 'the sign-in page');

  // The password field's show/hide button only works once the page hydrated.
  await page.fill('#password', 'peek');
  await page.click('#toggle-password');
  assert.equal(await page.getAttribute('#password', 'type'), 'text');
  assert.equal(await page.getAttribute('#toggle-password', 'aria-pressed'), 'true');
  await page.click('#toggle-password');
  assert.equal(await page.getAttribute('#password', 'type'), 'password');

  // A wrong password is named as such.
  await page.fill('#email', node.admin.email);
  await page.fill('#password', 'not the password');
  await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
  assert.equal((await page.textContent('[role=alert]')).trim(), 'Wrong email or password.');
  assert.equal(await page.inputValue('#email'), node.admin.email);
  // Chromium logs the 422 document status itself; nothing else may appear.
  assert.deepEqual(problems.splice(0), ['console: Failed to load resource: the server responded with a status of 422 (Unprocessable Entity)']);

  // The one-time password leads to the password change, then home.
  await page.fill('#password', node.admin.password);
  await Promise.all([page.waitForURL(`${node.url}/account/password`), page.click('button[type=submit]')]);
  await waitForHydration(page);
  await assertAccessible(page, 'the password page');
  await page.fill('#current', node.admin.password);
  await page.fill('#new', 'my own long password');
  await page.fill('#confirm', 'my own long password');
  await Promise.all([page.waitForURL(`${node.url}/`), page.click('button[type=submit]')]);
  await waitForHydration(page);
  assert.equal((await page.textContent('#signed-in-as')).trim(), 'Signed in as admin@localhost (admin)');
  await assertAccessible(page, 'the start page');

  assert.equal(await page.isVisible('#details'), false);
  await page.click('#toggle-details');
  assert.equal(await page.isVisible('#details'), true);
  assert.match(await page.textContent('#details'), /sealpost version \d+\.\d+\.\d+/);

  // Write a protected message; with no relay it lands in the local outbox.
  await Promise.all([page.waitForURL(`${node.url}/compose`), page.click('text=Write a protected message')]);
  await waitForHydration(page);
  await assertAccessible(page, 'the compose page');
  await page.fill('#to', 'bob@gmail.example');
  await page.fill('#subject', 'Quarterly numbers');
  await page.fill('#body', 'The numbers are up.');
  await page.setInputFiles('#attachments', { name: 'numbers.csv', mimeType: 'text/csv', buffer: Buffer.from('q,n\n3,42\n') });
  await page.check('input[value=do-not-forward]');
  await Promise.all([page.waitForURL(`${node.url}/compose`), page.click('button[type=submit]')]);
  assert.match(await page.textContent('[role=alert]'), /Your protected message "Quarterly numbers" is on its way to bob@gmail.example\./);
  let outbox = '';
  for (let i = 0; i < 50 && !outbox.includes('bob@gmail.example'); i++) {
    outbox = await (await fetch(`${node.url}/dev/outbox`)).text();
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.match(outbox, /bob@gmail\.example/, 'the notification is in the local outbox');

  await page.goto(`${node.url}/`);
  await Promise.all([page.waitForURL(`${node.url}/login`), page.click('text=Sign out')]);
  await page.goto(`${node.url}/`);
  assert.equal(new URL(page.url()).pathname, '/login', 'signed out: the start page sends to sign-in');

  assert.deepEqual(problems, [], 'no console errors');
  await context.close();
});

test('the pages work without JavaScript', async () => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto(`${node.url}/login`);
  await page.fill('#email', node.admin.email);
  await page.fill('#password', 'my own long password');
  // A button that could not work is not shown.
  assert.equal(await page.isVisible('#toggle-password'), false);
  await Promise.all([page.waitForURL(`${node.url}/`), page.click('button[type=submit]')]);
  assert.equal((await page.textContent('#signed-in-as')).trim(), 'Signed in as admin@localhost (admin)');
  // "About this deployment" opens without a script.
  await page.click('#toggle-details');
  assert.match(await page.textContent('#details'), /sealpost version \d+\.\d+\.\d+/);
  await context.close();
});
