// Secure replies in Chromium: Bob answers from the portal with an
// attachment, Alice reads it in her Inbox and answers, Bob reads that
// through his new link; the same in Japanese on a 360 px phone. axe on
// every new page.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { assertAccessible, startSealpost, launchChromium, signIn as signInAs, watchedPage } from '../support/sealpost.mjs';

let node;
let browser;

before(async () => {
  node = await startSealpost({ SEALPOST_INTERNAL_DOMAINS: 'corp.example' });
  node.cli(['user', 'add', '--email', 'alice@corp.example', '--role', 'sender', '--password-stdin'], 'alice long password\n');
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await node?.stop();
});

const PHONE = { locale: 'ja-JP', viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true };

function linkIn(notification) {
  return /http:\/\/127\.0\.0\.1:\d+\/r\/[A-Za-z0-9_-]{43}/.exec(notification)[0];
}

async function noSideScrolling(page) {
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= 360), 'no horizontal scrolling at 360 px');
}

/** Alice writes a protected message on the web. */
async function aliceSends(to, subject, body) {
  const alice = await signInAs(browser, node, 'alice@corp.example', 'alice long password');
  await alice.page.goto(`${node.url}/compose`);
  await alice.page.fill('#to', to);
  await alice.page.fill('#subject', subject);
  await alice.page.fill('#body', body);
  await Promise.all([alice.page.waitForURL(`${node.url}/compose`), alice.page.click('button[type=submit]')]);
  return alice;
}

/** The recipient opens the link and signs in with the passcode from the mail. */
async function signInOnLink(page, link, who, { ja = false } = {}) {
  await page.goto(link);
  await page.click(ja ? 'text=ワンタイム パスコードでサインイン' : 'text=Sign in with a one-time passcode');
  await page.waitForSelector('#code-sent');
  const mail = await node.mailTo(who, 2);
  const code = (ja ? /ワンタイム パスコードは (\d{8}) です/ : /Your one-time passcode is (\d{8})/).exec(mail)[1];
  await page.fill('#code', code);
  await Promise.all([page.waitForURL(link), page.click(ja ? 'text=続行' : 'text=Continue')]);
}

/** Alice opens the reply in her Inbox and answers it from there. */
async function aliceAnswers(alice, subject, text) {
  await alice.page.goto(`${node.url}/inbox`);
  await Promise.all([alice.page.waitForURL(/\/inbox\/[0-9a-f-]{36}$/), alice.page.click(`text=${subject}`)]);
  await assertAccessible(alice.page, 'a reply in the Inbox');
  const inboxPage = alice.page.url();
  await Promise.all([alice.page.waitForURL(/\/compose\?reply=/), alice.page.click('#reply')]);
  await assertAccessible(alice.page, 'the compose form as a reply');
  assert.equal(await alice.page.inputValue('#subject'), subject);
  await alice.page.fill('#body', text);
  await Promise.all([alice.page.waitForURL(`${node.url}/compose`), alice.page.click('button[type=submit]')]);
  assert.match(await alice.page.textContent('[role=alert]'), /is on its way to/);
  return inboxPage;
}

test('Bob replies with an attachment; Alice reads it in her Inbox and answers; Bob reads that', async () => {
  const alice = await aliceSends('bob@gmail.example', 'Contract', 'Please sign the contract.');
  const link = linkIn(await node.mailTo('bob@gmail.example'));

  const bob = await watchedPage(browser);
  await signInOnLink(bob.page, link, 'bob@gmail.example');
  assert.match(await bob.page.textContent('#body'), /Please sign the contract\./);
  // One recipient: Reply, and no Reply all.
  assert.equal(await bob.page.isVisible('button[name=all][value=yes]'), false);
  await bob.page.fill('#reply-body', 'Signed, see the attachment.');
  await bob.page.setInputFiles('#reply-attachments', { name: 'signed.pdf', mimeType: 'application/pdf', buffer: Buffer.from('%PDF-1.4 signed') });
  await Promise.all([bob.page.waitForURL(link), bob.page.click('button[name=all][value=no]')]);
  assert.equal((await bob.page.textContent('[role=alert]')).trim(), 'Your reply was sent to alice@corp.example.');
  assert.match(await bob.page.textContent('#replies'), /Signed, see the attachment\./);
  assert.match(await bob.page.textContent('#replies'), /signed\.pdf/);
  await assertAccessible(bob.page, 'the message page with a reply');

  // Alice gets it in her Inbox, with the attachment, and answers.
  await node.mailTo('alice@corp.example');
  await alice.page.goto(`${node.url}/inbox`);
  await Promise.all([alice.page.waitForURL(/\/inbox\/[0-9a-f-]{36}$/), alice.page.click('text=Re: Contract')]);
  assert.match(await alice.page.textContent('#body'), /Signed, see the attachment\./);
  const [download] = await Promise.all([alice.page.waitForEvent('download'), alice.page.click('text=signed.pdf')]);
  assert.equal(download.suggestedFilename(), 'signed.pdf');
  await aliceAnswers(alice, 'Re: Contract', 'Countersigned, thank you.');
  assert.deepEqual(alice.problems, [], 'no console errors for Alice');
  await alice.context.close();

  // Bob reads Alice's answer through the link of its notification.
  const again = linkIn(await node.mailTo('bob@gmail.example', 3));
  assert.notEqual(again, link);
  await bob.page.goto(again);
  assert.equal((await bob.page.textContent('#subject')).trim(), 'Re: Contract');
  assert.match(await bob.page.textContent('#body'), /Countersigned, thank you\./);
  assert.deepEqual(bob.problems, [], 'no console errors for Bob');
  await bob.context.close();
});

test('in Japanese on a phone: Hanako replies, Alice answers, Hanako reads it', async () => {
  const alice = await aliceSends('hanako@yahoo.example', '見積書', '見積書をご確認ください。');
  const link = linkIn(await node.mailTo('hanako@yahoo.example'));

  const hanako = await watchedPage(browser, PHONE);
  await signInOnLink(hanako.page, link, 'hanako@yahoo.example', { ja: true });
  assert.equal((await hanako.page.textContent('#reply-heading')).trim(), '返信');
  await noSideScrolling(hanako.page);
  await hanako.page.fill('#reply-body', '確認しました。');
  await Promise.all([hanako.page.waitForURL(link), hanako.page.click('button[name=all][value=no]')]);
  assert.equal((await hanako.page.textContent('[role=alert]')).trim(), '返信を alice@corp.example に送信しました。');
  assert.equal((await hanako.page.textContent('#your-replies')).trim(), 'あなたの返信');
  await assertAccessible(hanako.page, 'the message page with a reply, in Japanese');
  await noSideScrolling(hanako.page);

  await node.mailTo('alice@corp.example', 2);
  await aliceAnswers(alice, 'Re: 見積書', 'ありがとうございます。');
  await alice.context.close();

  const again = linkIn(await node.mailTo('hanako@yahoo.example', 3));
  await hanako.page.goto(again);
  assert.equal((await hanako.page.textContent('#subject')).trim(), 'Re: 見積書');
  assert.match(await hanako.page.textContent('#body'), /ありがとうございます。/);
  await assertAccessible(hanako.page, 'the answer, in Japanese');
  await noSideScrolling(hanako.page);
  assert.deepEqual(hanako.problems, [], 'no console errors');
  await hanako.context.close();
});
