// An internal recipient reads an inline copy in the Inbox in Chromium;
// another organization user gets 404 for it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { assertAccessible, startSealpost, launchChromium, signIn as signInAs } from '../support/sealpost.mjs';

let node;
let browser;

before(async () => {
  node = await startSealpost({ SEALPOST_INTERNAL_DOMAINS: 'corp.example' });
  for (const who of ['alice', 'carol', 'dave']) {
    node.cli(['user', 'add', '--email', `${who}@corp.example`, '--role', 'sender', '--password-stdin'], `${who} long password\n`);
  }
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await node?.stop();
});

function signIn(who) {
  return signInAs(browser, node, `${who}@corp.example`, `${who} long password`);
}

test('carol reads the protected message alice sent her; dave cannot', async () => {
  const alice = await signIn('alice');
  await alice.page.goto(`${node.url}/compose`);
  await alice.page.fill('#to', 'carol@corp.example');
  await alice.page.fill('#subject', 'Reorganisation');
  await alice.page.fill('#body', 'The new team starts in January.');
  await alice.page.check('input[value="do-not-forward"]');
  await Promise.all([alice.page.waitForURL(`${node.url}/compose`), alice.page.click('button[type=submit]')]);
  await alice.context.close();
  await node.mailTo('carol@corp.example');

  const carol = await signIn('carol');
  await carol.page.goto(`${node.url}/inbox`);
  await assertAccessible(carol.page, 'the Inbox');
  await Promise.all([carol.page.waitForURL(/\/inbox\/[0-9a-f-]{36}$/), carol.page.click('text=Reorganisation')]);
  const path = new URL(carol.page.url()).pathname;
  assert.match(await carol.page.textContent('#body'), /The new team starts in January\./);
  assert.match(await carol.page.textContent('main'), /Do not forward/);
  await assertAccessible(carol.page, 'an Inbox message');
  assert.deepEqual(carol.problems, [], 'no console errors');
  await carol.context.close();

  const dave = await signIn('dave');
  const response = await dave.page.goto(`${node.url}${path}`);
  assert.equal(response.status(), 404);
  assert.equal(await dave.page.isVisible('text=The new team starts in January.'), false);
  await dave.context.close();
});
