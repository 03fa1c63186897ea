// The administrator's pages in Chromium: report, message detail with
// "Revoke message", trace, templates with the live preview, transport rules
// (without JavaScript), users; axe on each page.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { assertAccessible, startSealpost, launchChromium, signIn as signInAs, waitForHydration } from '../support/sealpost.mjs';

let node;
let browser;

before(async () => {
  node = await startSealpost({ SEALPOST_INTERNAL_DOMAINS: 'corp.example' });
  node.cli(['user', 'add', '--email', 'root@corp.example', '--role', 'admin', '--password-stdin'], 'root long password\n');
  node.cli(['user', 'add', '--email', 'alice@corp.example', '--role', 'sender', '--password-stdin'], 'alice long password\n');
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await node?.stop();
});

function signIn(email, password, options = {}) {
  return signInAs(browser, node, email, password, options);
}

test('an administrator finds a message in the report, revokes it, and brands a template', async () => {
  // Alice sends a protected message from the web.
  const alice = await signIn('alice@corp.example', 'alice long password');
  await alice.page.goto(`${node.url}/compose`);
  await alice.page.fill('#to', 'bob@gmail.example');
  await alice.page.fill('#subject', 'Merger terms');
  await alice.page.fill('#body', 'Confidential.');
  await Promise.all([alice.page.waitForURL(`${node.url}/compose`), alice.page.click('button[type=submit]')]);
  // A sender does not reach the admin pages.
  const refused = await alice.page.goto(`${node.url}/admin/report`);
  assert.equal(refused.status(), 403);
  await alice.context.close();
  await node.mailTo('bob@gmail.example');

  const { page, problems, context } = await signIn('root@corp.example', 'root long password');
  await page.goto(`${node.url}/admin/report`);
  await assertAccessible(page, 'the encryption report');
  await page.fill('#sender', 'alice@corp.example');
  await Promise.all([page.waitForURL(/sender=alice/), page.click('button:has-text("Search")')]);
  assert.match(await page.textContent('#results'), /Merger terms/);

  await Promise.all([page.waitForURL(/\/admin\/message\?/), page.click('#results a')]);
  assert.equal((await page.textContent('#is-revocable')).trim(), 'True');
  await assertAccessible(page, 'the message detail');
  await Promise.all([page.waitForNavigation(), page.click('button:has-text("Revoke message")')]);
  assert.equal((await page.textContent('#revoked')).trim(), 'True');
  assert.match(await page.textContent('[role=alert]'), /was successfully revoked/);
  assert.match(await page.textContent('#timeline'), /revoked/);

  await page.goto(`${node.url}/admin/trace?recipient=bob%40gmail.example`);
  assert.match(await page.textContent('#results'), /revoked/);
  await assertAccessible(page, 'the message trace');

  await page.goto(`${node.url}/admin/templates`);
  await assertAccessible(page, 'the templates');
  await Promise.all([page.waitForURL(/\/admin\/templates\/Default$/), page.click('#templates a')]);
  await waitForHydration(page);
  await assertAccessible(page, 'the template editor');
  // The preview follows what is typed, before saving.
  await page.fill('#portal_text', 'Contoso Legal');
  assert.match(await page.textContent('#preview-portal'), /Contoso Legal/);
  await page.locator('#background_color').evaluate((input) => {
    input.value = '#f5d90a';
    input.dispatchEvent(new Event('input', { bubbles: true }));
  });
  const style = await page.getAttribute('#preview-portal .preview-banner', 'style');
  assert.match(style, /background:\s*#f5d90a/);
  assert.match(style, /color:\s*#000000/, 'dark text on a light color');
  await Promise.all([page.waitForNavigation(), page.click('button:has-text("Save")')]);
  assert.match(await page.textContent('[role=alert]'), /Saved/);
  assert.equal(await page.inputValue('#portal_text'), 'Contoso Legal');

  await page.goto(`${node.url}/admin/settings`);
  await assertAccessible(page, 'the protection settings');
  await page.selectOption('#transport_decryption', 'mandatory');
  await Promise.all([page.waitForNavigation(), page.click('button:has-text("Save")')]);
  assert.equal(await page.inputValue('#transport_decryption'), 'mandatory');
  assert.match(node.cli(['irm-config', 'show']), /TransportDecryption : mandatory/);

  await page.goto(`${node.url}/admin/users`);
  await assertAccessible(page, 'the users');
  await page.fill('#email', 'carol@corp.example');
  await page.fill('#password', 'a temporary password');
  await Promise.all([page.waitForNavigation(), page.click('button:has-text("Add user")')]);
  assert.match(await page.textContent('#users'), /carol@corp\.example/);

  assert.deepEqual(problems, [], 'no console errors');
  await context.close();
});

test('transport rules are created, reordered and disabled without JavaScript', async () => {
  const { page, problems, context } = await signIn('root@corp.example', 'root long password', { javaScriptEnabled: false });
  await page.goto(`${node.url}/admin/rules`);
  assert.match(await page.textContent('main'), /There are no transport rules yet/);

  const create = async (fill) => {
    await Promise.all([page.waitForURL(`${node.url}/admin/rules/new`), page.click('a:has-text("New rule")')]);
    await fill();
    await Promise.all([page.waitForNavigation(), page.click('button:has-text("Create rule")')]);
  };
  await create(async () => {
    await page.fill('#name', 'Confidential outside');
    await page.selectOption('#sent_to_scope', 'external');
    await page.fill('#subject_or_body_contains', 'confidential\n機密');
    await page.selectOption('#apply_protection', 'do-not-forward');
  });
  assert.equal(page.url(), `${node.url}/admin/rules`);
  assert.match(await page.textContent('[role=alert]'), /Created the rule 'Confidential outside'/);
  await create(async () => {
    await page.fill('#name', 'Tag');
    await page.fill('#prepend_subject', '[EXT] ');
  });

  // A refused form keeps what was typed and says why.
  await create(async () => {
    await page.fill('#name', 'No action');
    await page.fill('#from', 'partner.example');
  });
  assert.match(await page.textContent('[role=alert]'), /A rule needs an action/);
  assert.equal(await page.inputValue('#name'), 'No action');
  assert.equal(await page.inputValue('#from'), 'partner.example');

  await page.goto(`${node.url}/admin/rules`);
  await Promise.all([page.waitForNavigation(), page.click('button:has-text("Move up Tag")')]);
  await Promise.all([page.waitForNavigation(), page.click('button:has-text("Disable Tag")')]);
  const rows = await page.locator('#rules tbody tr').allTextContents();
  assert.match(rows[0], /Tag.*Disabled/);
  assert.match(rows[1], /Confidential outside.*Enabled/);
  const listed = JSON.parse(node.cli(['rule', 'list', '--json']));
  assert.deepEqual(listed.map((r) => [r.name, r.enabled]), [['Tag', false], ['Confidential outside', true]]);
  // The refused form's 422 is the one expected.
  assert.deepEqual(problems.filter((p) => !/status of 422/.test(p)), [], 'no console errors');
  await context.close();

  // The same pages with JavaScript on, for axe.
  const admin = await signIn('root@corp.example', 'root long password');
  for (const [path, what] of [
    ['/admin/rules', 'the rules'],
    ['/admin/rules/new', 'a new rule'],
    ['/admin/rules/edit?name=Confidential%20outside', 'a rule being edited'],
  ]) {
    await admin.page.goto(`${node.url}${path}`);
    await assertAccessible(admin.page, what);
  }
  assert.equal(await admin.page.inputValue('#subject_or_body_contains'), 'confidential\n機密');
  assert.deepEqual(admin.problems, [], 'no console errors');
  await admin.context.close();
});
