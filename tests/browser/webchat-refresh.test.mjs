// widget.js keeps the widget's token fresh: with a 10 s token lifetime it fetches the next token after
// 80 % of it, hands it to `onToken`, and announces it as a `freshgate:webchat-token` event.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { launch, screenshots } from './browser.mjs';
import { freePorts, startStack } from './stack.mjs';

let stack;
let context;

before(async () => {
  stack = await startStack({ ports: await freePorts(), quiet: true, replace: [['ttl: 10m', 'ttl: 10s']] });
  context = await launch();
});

after(async () => {
  await context?.close();
  await stack?.stop();
});

test('widget.js fetches a fresh token before the current one expires', async (t) => {
  const page = await context.newPage();
  try {
    await page.addInitScript(() => {
      window.__refreshed = [];
      window.addEventListener('freshgate:webchat-token', (event) => window.__refreshed.push(event.detail));
    });
    await page.goto(stack.app);
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
    await screenshots(context, t.name);
    throw err;
  } finally {
    await page.close();
  }
});
