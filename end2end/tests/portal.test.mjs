// An external recipient in Chromium: the notification's link, a one-time
// passcode from the email, the message, and a download; axe on each page.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { assertAccessible, startSealpost, launchChromium, signIn as signInAs, watchedPage } from '../support/sealpost.mjs';

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


/** Alice signs in and writes a protected message on the web; returns her page. */
async function aliceSends(to, subject, body, options = {}) {
  const sender = await signInAs(browser, node, 'alice@corp.example', 'alice long password', options);
  await sender.page.goto(`${node.url}/compose`);
  await sender.page.fill('#to', to);
  await sender.page.fill('#subject', subject);
  await sender.page.fill('#body', body);
  await sender.page.setInputFiles('#attachments', { name: 'minutes.txt', mimeType: 'text/plain', buffer: Buffer.from('minutes') });
  await Promise.all([sender.page.waitForURL(`${node.url}/compose`), sender.page.click('button[type=submit]')]);
  return sender;
}

function linkIn(notification) {
  return /http:\/\/127\.0\.0\.1:\d+\/r\/[A-Za-z0-9_-]{43}/.exec(notification)[0];
}

test('a Gmail recipient reads a protected message with a one-time passcode', async () => {
  const sender = await aliceSends('bob@gmail.example', 'Board minutes', 'The board agreed on the plan.');
  const link = linkIn(await node.mailTo('bob@gmail.example'));

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

test('a recipient whose browser prefers Japanese reads the portal in Japanese, on a phone', async () => {
  const sender = await aliceSends('hanako@yahoo.example', '会議の議事録', '計画は承認されました。');
  await sender.context.close();
  const link = linkIn(await node.mailTo('hanako@yahoo.example'));

  const { page, problems, context } = await watchedPage(browser, {
    locale: 'ja-JP', viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true,
  });
  await page.goto(link);
  assert.equal(await page.getAttribute('html', 'lang'), 'ja');
  assert.equal((await page.textContent('h1')).trim(), 'alice@corp.example さんから保護されたメッセージが届きました');
  await assertAccessible(page, 'the landing page in Japanese');
  // Nothing is wider than the phone's screen.
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= 360), 'no horizontal scrolling at 360 px');

  await page.click('text=ワンタイム パスコードでサインイン');
  await page.waitForSelector('#code-sent');
  const reference = /参照コード: ([A-Z0-9]{4})/.exec(await page.textContent('#code-sent'))[1];
  await assertAccessible(page, 'the passcode page in Japanese');
  const mail = await node.mailTo('hanako@yahoo.example', 2);
  assert.match(mail, new RegExp(`参照コード: ${reference}`));
  const code = /ワンタイム パスコードは (\d{8}) です/.exec(mail)[1];

  // A wrong code is refused in Japanese; the right one opens the message.
  await page.fill('#code', code === '00000000' ? '11111111' : '00000000');
  await page.click('text=続行');
  assert.match(await page.textContent('[role=alert]'), /コードが正しくありません。あと 4 回入力できます。/);
  await page.fill('#code', code);
  await Promise.all([page.waitForURL(link), page.click('text=続行')]);
  assert.equal((await page.textContent('#subject')).trim(), '会議の議事録');
  assert.equal((await page.textContent('dl.headers dt')).trim(), '差出人');
  await assertAccessible(page, 'the message page in Japanese');
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= 360), 'no horizontal scrolling at 360 px');

  // The switch turns the same page to English, and the choice stays.
  await Promise.all([page.waitForURL(/lang=en/), page.click('nav.lang >> text=English')]);
  assert.equal(await page.getAttribute('html', 'lang'), 'en');
  assert.equal((await page.textContent('dl.headers dt')).trim(), 'From');
  await page.goto(link);
  assert.equal((await page.textContent('dl.headers dt')).trim(), 'From');
  await Promise.all([page.waitForURL(/lang=ja/), page.click('nav.lang >> text=日本語')]);
  assert.equal((await page.textContent('dl.headers dt')).trim(), '差出人');

  // Time passes: the message expires, and the open session shows it.
  node.sql("UPDATE messages SET expires_at = 1 WHERE subject LIKE '%会議の議事録%'");
  const expired = await page.goto(link);
  assert.equal(expired.status(), 410);
  assert.equal((await page.textContent('h1')).trim(), 'このメッセージは有効期限が切れています。');
  await assertAccessible(page, 'the expired page in Japanese');
  const inEnglish = await page.goto(`${link}?lang=en`);
  assert.equal(inEnglish.status(), 410);
  assert.equal((await page.textContent('h1')).trim(), 'This message has expired.');
  await assertAccessible(page, 'the expired page');

  assert.deepEqual(problems.filter((p) => !/status of 4(10|22)/.test(p)), [], 'no console errors');
  await context.close();
});

test('in Japanese: the sender removes external access and the open session shows it revoked', async () => {
  const sender = await aliceSends('taro@gmail.example', '取り消す予定', '本文です。', { locale: 'ja-JP' });
  const link = linkIn(await node.mailTo('taro@gmail.example'));

  // Taro reads the message in Japanese.
  const { page, context } = await watchedPage(browser, { locale: 'ja-JP' });
  await page.goto(link);
  await page.click('text=ワンタイム パスコードでサインイン');
  await page.waitForSelector('#code-sent');
  const code = /ワンタイム パスコードは (\d{8}) です/.exec(await node.mailTo('taro@gmail.example', 2))[1];
  await page.fill('#code', code);
  await Promise.all([page.waitForURL(link), page.click('text=続行')]);
  assert.match(await page.textContent('#body'), /本文です。/);

  // Alice, in Japanese, removes external access from her Sent folder.
  await sender.page.goto(`${node.url}/sent`);
  assert.equal((await sender.page.textContent('h1')).trim(), '送信済みアイテム');
  await Promise.all([sender.page.waitForURL(/\/sent\/.+/), sender.page.click('text=取り消す予定')]);
  await assertAccessible(sender.page, 'a sent message in Japanese');
  await Promise.all([sender.page.waitForNavigation(), sender.page.click('text=外部アクセスの削除')]);
  assert.equal((await sender.page.textContent('#removed')).trim(), '外部アクセスは削除されました。');
  await sender.context.close();

  // Taro's next page, in the same session, says it was revoked.
  const response = await page.reload();
  assert.equal(response.status(), 410);
  assert.equal((await page.textContent('h1')).trim(), 'メッセージは送信者によって取り消されました。');
  await assertAccessible(page, 'the revoked page in Japanese');
  await context.close();
});
