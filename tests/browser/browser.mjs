// Debian's chromium driven by playwright-core: never a downloaded browser, a fresh profile every time.
import { mkdtempSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { after, before } from 'node:test';
import { REPO, startFreeStack } from './stack.mjs';

export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const ARTIFACTS = path.join(REPO, 'target/browser-artifacts');
const FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

/** A fresh browser; `args` are added to the flags, `env` replaces the process environment. */
export async function launch({ args = [], env } = {}) {
  const profile = mkdtempSync(path.join(tmpdir(), 'freshgate-chromium-'));
  return chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [...FLAGS, ...args],
    ...(env ? { env } : {}),
    timeout: 60000,
  });
}

/** Saves a screenshot of every open page, named after the test. */
export async function screenshots(context, name) {
  mkdirSync(ARTIFACTS, { recursive: true });
  const safe = name.replace(/[^a-z0-9]+/gi, '-');
  let i = 0;
  for (const page of context.pages()) {
    i += 1;
    const file = path.join(ARTIFACTS, `${safe}-${i}.png`);
    await page.screenshot({ path: file, fullPage: true }).catch(() => {});
    console.error(`screenshot: ${file}`);
  }
}

/**
 * Runs a test's scenario in a fresh page of `fixture`'s browser, as a new visitor (no cookies: no provider
 * session, no pending logins); on failure, screenshots of every open page.
 */
export async function scenario(fixture, t, body) {
  await fixture.context.clearCookies();
  const page = await fixture.context.newPage();
  try {
    await body(page);
  } catch (err) {
    await screenshots(fixture.context, t.name);
    throw err;
  } finally {
    await page.close();
    for (const other of fixture.context.pages()) await other.close();
  }
}

/** From the simulator's portal through the provider's login form; returns the page where it ends. */
export async function logIn(page, portal, { username, password }) {
  await page.goto(portal);
  await page.click('#login');
  await page.waitForSelector('#username');
  await page.fill('#username', username);
  await page.fill('#password', password);
  await Promise.all([page.waitForLoadState('load'), page.click('#sign-in')]);
  return page;
}

/**
 * A test file's fixture: a demo stack on free ports and one browser, started before its tests and stopped
 * after them. `options` go to startStack (e.g. `replace`). Read `fixture.stack` / `fixture.context` inside tests.
 */
export function useStackAndBrowser(options = {}) {
  const fixture = { stack: null, context: null };
  before(async () => {
    fixture.stack = await startFreeStack({ quiet: true, ...options });
    fixture.context = await launch();
  });
  after(async () => {
    await fixture.context?.close();
    await fixture.stack?.stop();
  });
  return fixture;
}
