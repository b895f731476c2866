// scripts/demo: start the demo stack and wait for Ctrl-C; `--check` runs one login headless in Chromium and
// exits 0 when every check passed.
import { launch, logIn, screenshots } from './browser.mjs';
import { DEMO_PORTS, DIRECTORY_USERS, USERS, haveSlapd, startStack } from './stack.mjs';

const check = process.argv.includes('--check');
let stack;
try {
  stack = await startStack({ ports: DEMO_PORTS, quiet: check });
} catch (err) {
  console.error(`demo: could not start: ${err.message}`);
  const ports = Object.values(DEMO_PORTS);
  const used = haveSlapd() ? ports : ports.filter((p) => ![DEMO_PORTS.adSimulator, DEMO_PORTS.ldap, DEMO_PORTS.ldaps].includes(p));
  console.error(`demo: are ports ${used.slice(0, -1).join(', ')} and ${used.at(-1)} free?`);
  process.exit(1);
}

const shutdown = async (code) => {
  await stack.stop();
  process.exit(code);
};
process.on('SIGINT', () => shutdown(0));
process.on('SIGTERM', () => shutdown(0));

if (check) {
  const context = await launch();
  let code = 0;
  try {
    const page = await context.newPage();
    await logIn(page, stack.portal, USERS[0]);
    await page.waitForSelector('#verdict', { timeout: 30000 });
    const verdict = await page.textContent('#verdict');
    const who = await page.textContent('#who').catch(() => '');
    console.log(`demo --check: ${verdict}${who ? ` — ${who}` : ''}`);
    if (verdict !== 'All checks passed') code = 1;
    if (stack.adPortal) {
      const adPage = await context.newPage();
      await logIn(adPage, stack.adPortal, DIRECTORY_USERS[0]);
      await adPage.waitForSelector('#verdict', { timeout: 30000 });
      const adVerdict = await adPage.textContent('#verdict');
      const adWho = await adPage.textContent('#who').catch(() => '');
      console.log(`demo --check (directory account): ${adVerdict}${adWho ? ` — ${adWho}` : ''}`);
      if (adVerdict !== 'All checks passed') code = 1;
    }
  } catch (err) {
    console.error(`demo --check failed: ${err.message}`);
    await screenshots(context, 'demo-check');
    code = 1;
  }
  await context.close();
  await shutdown(code);
} else {
  console.log(`
  freshgate demo is running.

    Open ${stack.portal} and press "Log in".

    Users (at the provider's login page):
${USERS.map((u) => `      ${u.username.padEnd(8)} ${u.password.padEnd(18)} ${u.note}`).join('\n')}

${stack.adPortal ? `    Directory account: open ${stack.adPortal} and press "Log in": the gateway's own sign-in
    page checks the password against the test directory (slapd, Active Directory-like).
${DIRECTORY_USERS.map((u) => `      ${u.username.padEnd(8)} ${u.password.padEnd(18)} ${u.note}`).join('\n')}
` : `    (The directory account is left out: install Debian's slapd and ldap-utils to see it.)
`}
    Web Chat: open ${stack.app} — an app page that loads the gateway's widget.js,
    signs in through the gateway and shows the token Freshdesk's widget would get.

    Gateway   ${stack.gateway}   (Login URL ${stack.gateway}/sso/jwt/login)
    Admin     ${stack.admin}/readyz  ${stack.admin}/metrics

  Ctrl-C stops everything.
`);
}
