// Web Chat in a real browser: a page on an allowed origin loads /sso/webchat/widget.js; with no session it
// goes through the gateway's login, comes back, and a stand-in fdWidget records an init call whose token
// verifies (with jose, HS256 pinned) against the demo's widget secret.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { jwtVerify } from 'jose';
import { screenshots, useStackAndBrowser } from './browser.mjs';

const fixture = useStackAndBrowser();

function demoSecret() {
  const match = readFileSync(fixture.stack.config, 'utf8').match(/^\s+secret:\s*(\S+)/m);
  assert.ok(match, 'the demo configuration has a webchat secret');
  return new TextEncoder().encode(match[1]);
}

test('an app page gets its widget initialised with a valid token after signing in through the gateway', async (t) => {
  await fixture.context.clearCookies();
  const page = await fixture.context.newPage();
  try {
    await page.goto(fixture.stack.app);
    // No session yet: widget.js sends the browser through the gateway's Web Chat login.
    await page.waitForSelector('#username', { timeout: 30000 });
    assert.ok(page.url().startsWith(`${fixture.stack.gateway}/realms/acme/`), page.url());
    await page.fill('#username', 'alice');
    await page.fill('#password', 'alice-password');
    await page.click('#sign-in');
    await page.waitForURL(fixture.stack.app, { timeout: 30000 });
    await page.waitForFunction(() => window.__initCalls && window.__initCalls.length > 0, null, { timeout: 30000 });
    const calls = await page.evaluate(() => window.__initCalls);
    assert.equal(calls.length, 1);
    const [call] = calls;
    assert.equal(call.host, new URL(fixture.stack.app).origin);
    assert.equal(call.token, 'demo-widget-token');
    assert.equal(call.widgetId, '1');
    const { payload, protectedHeader } = await jwtVerify(call.jwtAuthToken, demoSecret(), { algorithms: ['HS256'] });
    assert.deepEqual(protectedHeader, { alg: 'HS256', typ: 'JWT' });
    assert.equal(payload.email, 'alice@example.com');
    assert.equal(payload.unique_external_id, undefined);
    assert.deepEqual(payload.contactProperties, { name: 'Alice Anderson', phone: '+1 555 0100', language: 'en' });
    assert.ok(payload.exp > Date.now() / 1000 + 500, 'exp is about ttl (10m) ahead');
    assert.equal(await page.textContent('#error'), '');
  } catch (err) {
    await screenshots(fixture.context, t.name);
    throw err;
  } finally {
    await page.close();
  }
});
