// widget.js keeps the widget's token fresh: with a 10 s token lifetime it fetches the next token after
// 80 % of it, hands it to `onToken`, and announces it as a `freshgate:webchat-token` event.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { screenshots, useStackAndBrowser } from './browser.mjs';

const fixture = useStackAndBrowser({ replace: [['ttl: 10m', 'ttl: 10s']] });

test('widget.js fetches a fresh token before the current one expires', async (t) => {
  const page = await fixture.context.newPage();
  try {
    await page.addInitScript(() => {
      window.__refreshed = [];
      window.addEventListener('freshgate:webchat-token', (event) => window.__refreshed.push(event.detail));
    });
    await page.goto(fixture.stack.app);
    await page.waitForSelector('#username', { timeout: 30000 });
    await page.fill('#username', 'bob');
    await page.fill('#password', 'bob-password');
    await page.click('#sign-in');
    await page.waitForFunction(() => window.__initCalls && window.__initCalls.length === 1, null, { timeout: 30000 });
    const first = await page.evaluate(() => window.freshgateWebchat.state.expiresAt);
    await page.waitForFunction(() => window.__refreshed.length > 0, null, { timeout: 15000 });
    const refreshed = await page.evaluate(() => window.__refreshed[0]);
    assert.ok(refreshed.expires_at > first, `${refreshed.expires_at} after ${first}`);
    assert.ok(refreshed.expires_at * 1000 - Date.now() > 5000, 'the new token is fresh');
    assert.notEqual(refreshed.token, await page.evaluate(() => window.__initCalls[0].jwtAuthToken));
    assert.equal(await page.evaluate(() => window.__initCalls.length), 1, 'the widget is not initialised twice');
  } catch (err) {
    await screenshots(fixture.context, t.name);
    throw err;
  } finally {
    await page.close();
  }
});
