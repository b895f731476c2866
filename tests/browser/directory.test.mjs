// A whole Freshworks login of a directory account in a real browser: the simulator's second portal, the
// gateway's own sign-in page, the test directory (Debian's slapd), and the token back at "Freshworks".
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { logIn, scenario, useStackAndBrowser } from './browser.mjs';
import { haveSlapd } from './stack.mjs';

const fixture = useStackAndBrowser({ directory: true });

test('the test directory is installed (slapd)', () => {
  assert.ok(haveSlapd(), 'apt-get install slapd ldap-utils');
});

test('a directory user logs in through the gateway\'s sign-in page and every check passes', async (t) => {
  await scenario(fixture, t, async (page) => {
    await page.goto(fixture.stack.adPortal);
    await page.click('#login');
    await page.waitForSelector('#username');
    assert.ok(page.url().startsWith(`${fixture.stack.gateway}/sso/jwt/login`), page.url());
    assert.match(await page.title(), /^Sign in to 127\.0\.0\.1/);
    // Labelled fields, as a screen reader finds them.
    assert.equal(await page.getByLabel('User name').count(), 1);
    assert.equal(await page.getByLabel('Password').count(), 1);
    await page.fill('#username', 'CORP\\jdoe');
    await page.fill('#password', 'jdoe-password');
    await Promise.all([page.waitForLoadState('load'), page.click('#sign-in')]);
    await page.waitForSelector('#verdict', { timeout: 30000 });
    const checks = await page.$$eval('tr.check', (rows) => rows.map((r) => r.textContent));
    assert.equal(await page.textContent('#verdict'), 'All checks passed', checks.join('\n'));
    assert.match(await page.textContent('#who'), /John Doe <jdoe@corp\.example>/);
  });
});

test('a wrong password shows the form again with an announced message and the name kept', async (t) => {
  await scenario(fixture, t, async (page) => {
    await logIn(page, fixture.stack.adPortal, { username: 'zoë', password: 'wrong' });
    const alert = page.getByRole('alert');
    assert.match(await alert.textContent(), /The user name or password is not right/);
    assert.equal(await page.inputValue('#username'), 'zoë');
    assert.equal(await page.inputValue('#password'), '');
    // The password field has the focus: only it needs typing again.
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'password');
    await page.fill('#password', 'pässwörd-ß-日本');
    // The one-second backoff after a failure.
    await new Promise((r) => setTimeout(r, 1100));
    await Promise.all([page.waitForLoadState('load'), page.click('#sign-in')]);
    await page.waitForSelector('#verdict', { timeout: 30000 });
    assert.equal(await page.textContent('#verdict'), 'All checks passed');
    assert.match(await page.textContent('#who'), /Zoë Ünal/);
  });
});

test('a disabled account gets its own page with what to do', async (t) => {
  await scenario(fixture, t, async (page) => {
    await logIn(page, fixture.stack.adPortal, { username: 'dis', password: 'dis-password' });
    assert.match(await page.textContent('h1'), /Your account is disabled/);
    assert.match(await page.textContent('main'), /Ask your IT team/);
  });
});
