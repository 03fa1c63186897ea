// An external recipient in Chromium: the notification's link, a one-time
// passcode from the email, the message, and a download; axe on each page.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { assertAccessible, startSealpost, launchChromium, watchedPage } from '../support/sealpost.mjs';

let node;
let browser;

before(async () => {
  node = await startSealpost();
  node.cli(['user', 'add', '--email', 'alice@corp.example', '--role', 'sender', '--password-stdin'], 'alice long password\n');
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await node?.stop();
});


test('a Gmail recipient reads a protected message with a one-time passcode', async () => {
  // Alice writes the message on the web.
  const sender = await watchedPage(browser);
  await sender.page.goto(`${node.url}/login`);
  await sender.page.fill('#email', 'alice@corp.example');
  await sender.page.fill('#password', 'alice long password');
  await Promise.all([sender.page.waitForURL(`${node.url}/`), sender.page.click('button[type=submit]')]);
  await sender.page.goto(`${node.url}/compose`);
  await sender.page.fill('#to', 'bob@gmail.example');
  await sender.page.fill('#subject', 'Board minutes');
  await sender.page.fill('#body', 'The board agreed on the plan.');
  await sender.page.setInputFiles('#attachments', { name: 'minutes.txt', mimeType: 'text/plain', buffer: Buffer.from('minutes') });
  await Promise.all([sender.page.waitForURL(`${node.url}/compose`), sender.page.click('button[type=submit]')]);

  const notification = await node.mailTo('bob@gmail.example');
  const link = /http:\/\/127\.0\.0\.1:\d+\/r\/[A-Za-z0-9_-]{43}/.exec(notification)[0];

  const { page, problems, context } = await watchedPage(browser);
  await page.goto(link);
  assert.match(await page.textContent('h1'), /alice@corp\.example sent you a protected message/);
  await assertAccessible(page, 'the landing page');

  await page.click('text=Sign in with a one-time passcode');
  await page.waitForSelector('#code-sent');
  const reference = /Reference code: ([A-Z0-9]{4})/.exec(await page.textContent('#code-sent'))[1];
  await assertAccessible(page, 'the passcode page');
  const mail = await node.mailTo('bob@gmail.example', 2);
  assert.match(mail, new RegExp(`Reference code: ${reference}`));
  const code = /Your one-time passcode is (\d{8})/.exec(mail)[1];

  await page.fill('#code', code);
  await Promise.all([page.waitForURL(link), page.click('text=Continue')]);
  assert.equal((await page.textContent('#subject')).trim(), 'Board minutes');
  assert.match(await page.textContent('#body'), /The board agreed on the plan\./);
  await assertAccessible(page, 'the message page');
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('text=minutes.txt')]);
  assert.equal(download.suggestedFilename(), 'minutes.txt');

  // Alice removes external access from her Sent folder; Bob's next page,
  // in the same session, says the message was revoked.
  await sender.page.goto(`${node.url}/sent`);
  await assertAccessible(sender.page, 'the Sent folder');
  await Promise.all([sender.page.waitForURL(/\/sent\/.+/), sender.page.click('text=Board minutes')]);
  await assertAccessible(sender.page, 'a sent message');
  await Promise.all([sender.page.waitForNavigation(), sender.page.click('text=Remove external access')]);
  assert.equal((await sender.page.textContent('#removed')).trim(), 'External access was removed.');
  assert.equal(await sender.page.isVisible('text=Remove external access'), false);
  await sender.context.close();

  const after = await page.reload();
  assert.equal(after.status(), 410);
  assert.equal((await page.textContent('h1')).trim(), 'The message was revoked by the sender.');
  await assertAccessible(page, 'the revoked page');

  // Chromium logs the 410 document status itself; nothing else may appear.
  assert.deepEqual(problems.filter((p) => !p.includes('status of 410')), [], 'no console errors');
  await context.close();
});

test('an unknown link says so with 404', async () => {
  const { page, context } = await watchedPage(browser);
  const response = await page.goto(`${node.url}/r/${'x'.repeat(43)}`);
  assert.equal(response.status(), 404);
  assert.equal((await page.textContent('h1')).trim(), 'This link is not valid.');
  await assertAccessible(page, 'the invalid link page');
  await context.close();
});
