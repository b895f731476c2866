// End to end in a real browser: the simulator's portal, the gateway, the provider's login page, and back.
// Run with `node --test tests/browser/` (scripts/test does, when /usr/bin/chromium exists).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { importSPKI, jwtVerify } from 'jose';
import { logIn, scenario, useStackAndBrowser } from './browser.mjs';
import { REPO } from './stack.mjs';

const fixture = useStackAndBrowser();

async function expectVerdictPassed(page) {
  await page.waitForSelector('#verdict', { timeout: 30000 });
  const verdict = await page.textContent('#verdict');
  const checks = await page.$$eval('tr.check', (rows) => rows.map((r) => r.textContent));
  assert.equal(verdict, 'All checks passed', checks.join('\n'));
  assert.ok(checks.length >= 12, `only ${checks.length} checks shown`);
  return page.textContent('#who');
}

test('alice logs in from the portal through the provider and every check passes', async (t) => {
  await scenario(fixture, t, async (page) => {
    await page.goto(fixture.stack.portal);
    await page.click('#login');
    await page.waitForSelector('#username');
    assert.ok(page.url().startsWith(`${fixture.stack.gateway}/realms/acme/`), `login page served through the gateway: ${page.url()}`);
    assert.equal(await page.title(), 'Sign in to Acme');
    await page.fill('#username', 'alice');
    await page.fill('#password', 'alice-password');
    await page.click('#sign-in');
    const who = await expectVerdictPassed(page);
    assert.match(who, /Alice Anderson <alice@example\.com>/);
  });
});

test('a user with a non-ASCII name and password logs in', async (t) => {
  await scenario(fixture, t, async (page) => {
    await logIn(page, fixture.stack.portal, { username: 'zoë', password: 'pässwörd-ß-日本' });
    const who = await expectVerdictPassed(page);
    assert.match(who, /Zoë Ødegård-Łukasiewicz/);
  });
});

test('the seed request shape logs in too', async (t) => {
  await scenario(fixture, t, async (page) => {
    await page.goto(fixture.stack.portal);
    await page.click('#login-other');
    await page.fill('#username', 'bob');
    await page.fill('#password', 'bob-password');
    await page.click('#sign-in');
    const who = await expectVerdictPassed(page);
    assert.match(who, /Bob - <bob@example\.com>/);
  });
});

test('cancelling at the provider shows the gateway page that says so', async (t) => {
  await scenario(fixture, t, async (page) => {
    await page.goto(fixture.stack.portal);
    await page.click('#login');
    await page.waitForSelector('#cancel');
    await page.click('#cancel');
    await page.waitForSelector('h1');
    assert.equal(await page.textContent('h1'), 'Sign-in cancelled');
    const link = await page.getAttribute('a.button', 'href');
    assert.equal(link, `${new URL(fixture.stack.portal).origin}/`, 'the restart link leads back to the portal');
  });
});

test('a refused user signs out at the provider from the refusal page and logs in as someone else', async (t) => {
  await scenario(fixture, t, async (page) => {
    await logIn(page, fixture.stack.portal, { username: 'mallory', password: 'mallory-password' });
    await page.waitForSelector('h1');
    assert.equal(await page.textContent('h1'), 'Your email address is not verified');
    assert.equal(new URL(page.url()).search, '', `the spent code and state stay in the address bar: ${page.url()}`);
    assert.ok(!(await page.textContent('main')).includes('`'), 'raw Markdown backticks on the page');
    await Promise.all([page.waitForURL(fixture.stack.portal), page.click('text=Sign out and use another account')]);
    await page.click('#login');
    await page.waitForSelector('#username', { timeout: 15000 });
    await page.fill('#username', 'alice');
    await page.fill('#password', 'alice-password');
    await page.click('#sign-in');
    const who = await expectVerdictPassed(page);
    assert.match(who, /Alice Anderson/);
  });
});

test('a wrong password then the right one logs in', async (t) => {
  await scenario(fixture, t, async (page) => {
    await page.goto(fixture.stack.portal);
    await page.click('#login');
    await page.fill('#username', 'alice');
    await page.fill('#password', 'wrong-password');
    await page.click('#sign-in');
    await page.waitForSelector('text=Invalid username or password');
    await page.fill('#username', 'alice');
    await page.fill('#password', 'alice-password');
    await page.click('#sign-in');
    await expectVerdictPassed(page);
  });
});

test('two tabs logging in at once both finish', async (t) => {
  await scenario(fixture, t, async (first) => {
    const second = await fixture.context.newPage();
    for (const page of [first, second]) {
      await page.goto(fixture.stack.portal);
      await page.click('#login');
      await page.waitForSelector('#username');
    }
    // Finish the second tab first.
    for (const [page, user] of [[second, 'bob'], [first, 'alice']]) {
      await page.fill('#username', user);
      await page.fill('#password', `${user}-password`);
    }
    await Promise.all([second.click('#sign-in'), first.click('#sign-in')]);
    assert.match(await expectVerdictPassed(second), /bob@example\.com/);
    assert.match(await expectVerdictPassed(first), /alice@example\.com/);
  });
});

test('four logins with a 1 KiB state and nonce wait in one browser and each comes back byte for byte', async (t) => {
  // Chromium keeps a cookie only when its name and value fit in 4096 bytes: the four pending-login cookies
  // must all be there, and each login must reach Freshworks' redirect URL with its own values. The state is
  // of characters that mean something in a URL or a page, the nonce of those JSON would write in two bytes.
  const value = (tag, chars) => tag + Array.from({ length: 1024 - tag.length }, (_, i) => chars[i % chars.length]).join('');
  const publicKey = await importSPKI(readFileSync(path.join(REPO, 'certs/freshworks-signing.pub.pem'), 'utf8'), 'RS256');
  const redirect = `${new URL(fixture.stack.portal).origin}/sso/callback`;
  await scenario(fixture, t, async (first) => {
    const tabs = [first];
    while (tabs.length < 4) tabs.push(await fixture.context.newPage());
    const logins = tabs.map((_, i) => ({
      state: value(`s${i}-${Date.now()}`, '/&=+%~"\\<>'),
      nonce: value(`n${i}-`, '"\\'),
      arrived: null,
    }));
    for (const [i, page] of tabs.entries()) {
      const { state, nonce } = logins[i];
      const query = new URLSearchParams({ client_id: 'demo', state, nonce });
      await page.goto(`${fixture.stack.gateway}/sso/jwt/login?${query}`);
      await page.waitForSelector('#username');
    }
    const pending = (await fixture.context.cookies(`${fixture.stack.gateway}/sso/jwt/callback`))
      .filter((cookie) => cookie.name.startsWith('freshgate-login-'));
    assert.equal(pending.length, 4, 'Chromium kept all four pending-login cookies');
    for (const cookie of pending) assert.ok(cookie.name.length + cookie.value.length <= 4096);
    for (const [i, page] of tabs.entries()) {
      await page.fill('#username', 'alice');
      await page.fill('#password', 'alice-password');
      await Promise.all([page.waitForURL((url) => url.href.startsWith(`${redirect}?`)), page.click('#sign-in')]);
      // The address Freshworks' redirect URL was opened with (the simulator there knows only its own states).
      logins[i].arrived = page.url();
    }
    for (const { state, nonce, arrived } of logins) {
      const params = new URL(arrived).searchParams;
      assert.equal(params.get('state'), state, 'the state comes back byte for byte');
      const { payload } = await jwtVerify(params.get('id_token'), publicKey, { algorithms: ['RS256'] });
      assert.equal(payload.nonce, nonce, 'the nonce goes into the token byte for byte');
      assert.equal(payload.email, 'alice@example.com');
    }
  });
});
