// The silent Windows login in a real browser: Chromium with a Kerberos ticket (MIT's kinit against the test
// KDC, tests/krb5/kdc.sh) answers the gateway's Negotiate challenge by itself, and a whole Freshworks login
// from the simulator's directory portal completes without anything typed.
//
// Chromium sends Kerberos only to hosts in --auth-server-allowlist, and names the service after the host's
// canonical DNS name unless --disable-auth-negotiate-cname-lookup (policy DisableAuthNegotiateCnameLookup)
// says otherwise. The demo stack's gateway is http://localhost:PORT, so the KDC's service principal is
// HTTP/localhost@CORP.EXAMPLE (Chromium leaves the port out of the name by default).
//
// Skipped, with the reason, when the gateway was built without the `kerberos` feature or the KDC packages
// are missing; on CI (CI=true) both are required.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { launch, screenshots } from './browser.mjs';
import { REPO, binary, freePort, haveSlapd, startFreeStack } from './stack.mjs';

const KDC_TOOLS = ['/usr/sbin/krb5kdc', '/usr/sbin/kdb5_util', '/usr/sbin/kadmin.local', '/usr/bin/kinit'];

function whyNot() {
  if (!KDC_TOOLS.every((tool) => existsSync(tool))) {
    return 'the test KDC is not installed (apt-get install krb5-kdc krb5-admin-server krb5-user)';
  }
  if (!haveSlapd()) return 'the test directory is not installed (apt-get install slapd ldap-utils)';
  const ldd = spawnSync('ldd', [binary()], { encoding: 'utf8' });
  if (!/libgssapi_krb5/.test(ldd.stdout ?? '')) {
    return `${binary()} was built without the kerberos feature (cargo build --features kerberos)`;
  }
  return null;
}

const missing = whyNot();
const skip = missing && process.env.CI !== 'true' ? missing : false;
const fixture = { kdc: null, stack: null, context: null, env: null };

/** tests/krb5/kdc.sh for the demo gateway's host name: its ready line as an object, and the process. */
async function startKdc() {
  const dir = path.join(mkdtempSync(path.join(tmpdir(), 'freshgate-kdc-')), 'kdc');
  const child = spawn('bash', [
    path.join(REPO, 'tests/krb5/kdc.sh'), '--dir', dir, '--port', String(await freePort()),
    '--host', 'localhost', '--exit-on-stdin-close', '--remove-dir-on-exit',
  ], { stdio: ['pipe', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (chunk) => { err += chunk; });
  const line = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
      if (out.includes('\n')) resolve(out.split('\n')[0]);
    });
    child.on('exit', (code) => reject(new Error(`tests/krb5/kdc.sh exited (${code}): ${err}`)));
  });
  return { ...JSON.parse(line), child };
}

before(async () => {
  if (skip) return;
  assert.equal(missing, null, missing ?? '');
  fixture.kdc = await startKdc();
  const ccache = path.join(fixture.kdc.dir, 'jdoe.ccache');
  fixture.env = { ...process.env, KRB5_CONFIG: fixture.kdc.krb5_config, KRB5CCNAME: `FILE:${ccache}` };
  const kinit = spawnSync('kinit', ['jdoe'], { input: 'jdoe-password\n', env: fixture.env, encoding: 'utf8' });
  assert.equal(kinit.status, 0, `kinit jdoe: ${kinit.stderr}`);
  const line = '  nested_groups: recursive                         # slapd has no LDAP_MATCHING_RULE_IN_CHAIN\n';
  fixture.stack = await startFreeStack({
    quiet: true,
    directory: true,
    replace: [[line, `${line}  kerberos: { keytab_file: ${fixture.kdc.keytab} }\n`]],
  });
  fixture.context = await launch({
    args: ['--auth-server-allowlist=localhost', '--disable-auth-negotiate-cname-lookup'],
    env: fixture.env,
  });
});

after(async () => {
  await fixture.context?.close();
  await fixture.stack?.stop();
  fixture.kdc?.child.stdin.end();
});

test('a Windows user with a ticket logs in from the portal without typing anything', { skip }, async (t) => {
  const page = await fixture.context.newPage();
  try {
    // The first Negotiate challenge after the browser starts can go unanswered while Chromium loads
    // GSS-API: one warm-up round, whatever it shows.
    await page.goto(fixture.stack.adPortal);
    await page.click('#login');
    await page.waitForLoadState('load');
    await page.goto(fixture.stack.adPortal);
    await page.click('#login');
    await page.waitForSelector('#verdict', { timeout: 30000 });
    const checks = await page.$$eval('tr.check', (rows) => rows.map((r) => r.textContent));
    assert.equal(await page.textContent('#verdict'), 'All checks passed', checks.join('\n'));
    assert.match(await page.textContent('#who'), /John Doe <jdoe@corp\.example>/);
    const log = fixture.stack.children.gateway.lines.join('\n');
    assert.match(log, /kerberos login succeeded/);
    assert.match(log, /jdoe@CORP\.EXAMPLE/);
  } catch (err) {
    await screenshots(fixture.context, t.name);
    throw err;
  } finally {
    await page.close();
  }
});

test('without a ticket the same browser shows the sign-in form at once', { skip }, async (t) => {
  const context = await launch({
    args: ['--auth-server-allowlist=localhost', '--disable-auth-negotiate-cname-lookup'],
    env: { ...fixture.env, KRB5CCNAME: `FILE:${path.join(fixture.kdc.dir, 'empty.ccache')}` },
  });
  const page = await context.newPage();
  try {
    await page.goto(fixture.stack.adPortal);
    await page.click('#login');
    await page.waitForSelector('#username');
    assert.match(await page.title(), /^Sign in to 127\.0\.0\.1/);
  } catch (err) {
    await screenshots(context, t.name);
    throw err;
  } finally {
    await context.close();
  }
});
