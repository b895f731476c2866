// The demo stack: the OpenID provider test server, freshgate in front of it, and `freshgate simulate`
// playing Freshworks. Used by scripts/demo (fixed ports, examples/demo.yaml as written) and by the browser
// tests (free ports, the same file with its ports replaced).
import { spawn } from 'node:child_process';
import http from 'node:http';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const DEMO_CONFIG = path.join(REPO, 'examples/demo.yaml');
export const DEMO_PORTS = {
  gateway: 8080, idp: 8081, admin: 9901, simulator: 9911, app: 9912, adSimulator: 9913, ldap: 8389, ldaps: 8636,
};
/** Where the demo's test directory keeps its files (examples/demo.yaml's `ca_file` points here). */
const DEMO_LDAP_DIR = path.join(REPO, 'target/demo-ldap');
/** The directory account's users (tests/ldap/README.md has them all). */
export const DIRECTORY_USERS = [
  { username: 'jdoe', password: 'jdoe-password', note: 'Freshservice Agents' },
  { username: 'zoë', password: 'pässwörd-ß-日本', note: 'non-ASCII name and password' },
  { username: 'jane', password: 'jane-password', note: 'an agent through a nested group' },
  { username: 'dis', password: 'dis-password', note: 'disabled: the gateway says so' },
  { username: 'nomail', password: 'nomail-password', note: 'no mail attribute: Freshworks needs one' },
  { username: 'out', password: 'out-password', note: 'not an agent: not allowed' },
];

/** True when Debian's slapd is installed: the demo's directory account needs it. */
export function haveSlapd() {
  return ['/usr/sbin/slapd', '/usr/bin/ldapadd'].every((file) => existsSync(file));
}
export const USERS = [
  { username: 'alice', password: 'alice-password', note: 'every claim' },
  { username: 'bob', password: 'bob-password', note: 'no family name' },
  { username: 'zoë', password: 'pässwörd-ß-日本', note: 'non-ASCII name and password' },
  { username: 'carol', password: 'carol-password', note: 'no email: Freshworks needs one, so the gateway refuses' },
  { username: 'mallory', password: 'mallory-password', note: "alice's address, unverified: the gateway refuses" },
];

export function binary() {
  return process.env.FRESHGATE_BIN || path.join(REPO, 'target/debug/freshgate');
}

export async function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** examples/demo.yaml with its ports replaced, written next to a copy-free relative path fix. */
function configFor(ports, replace = [], ldapDir = DEMO_LDAP_DIR) {
  const directory = ldapDir !== null;
  if (ports === DEMO_PORTS && replace.length === 0 && ldapDir === DEMO_LDAP_DIR) return DEMO_CONFIG;
  let text = readFileSync(DEMO_CONFIG, 'utf8');
  if (!directory) text = text.replace(/ *# >>> directory\n[\s\S]*?# <<< directory\n/g, '');
  text = text.replace('../target/demo-ldap/', `${ldapDir}/`);
  for (const [from, to] of replace) {
    if (!text.includes(from)) throw new Error(`examples/demo.yaml has no ${from}`);
    text = text.replace(from, to);
  }
  for (const [name, port] of Object.entries(DEMO_PORTS)) {
    text = text.replaceAll(`:${port}`, `:${ports[name]}`);
  }
  text = text.replace('../certs/', `${REPO}/certs/`);
  const dir = mkdtempSync(path.join(tmpdir(), 'freshgate-browser-'));
  const file = path.join(dir, 'demo.yaml');
  writeFileSync(file, text);
  return file;
}

function start(name, command, args, { onLine, quiet } = {}) {
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], cwd: REPO });
  const lines = [];
  for (const stream of [child.stdout, child.stderr]) {
    let buffer = '';
    stream.on('data', (chunk) => {
      buffer += chunk;
      let i;
      while ((i = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, i);
        buffer = buffer.slice(i + 1);
        lines.push(line);
        if (!quiet) process.stdout.write(`[${name}] ${line}\n`);
        onLine?.(line);
      }
    });
  }
  child.lines = lines;
  child.label = name;
  return child;
}

function waitFor(child, predicate, what, ms = 60000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${child.label}: ${what} did not happen within ${ms} ms:\n${child.lines.join('\n')}`)), ms);
    const check = (line) => {
      if (predicate(line)) {
        clearTimeout(timer);
        resolve(line);
      }
    };
    child.lines.forEach(check);
    child.stdout.on('data', () => child.lines.forEach(check));
    child.stderr.on('data', () => child.lines.forEach(check));
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${child.label} exited (${code}) before ${what}:\n${child.lines.join('\n')}`));
    });
  });
}

async function waitReady(url, ms = 30000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    try {
      const response = await fetch(url);
      if (response.ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url} never became ready`);
}

/**
 * Starts the stack. `ports`: DEMO_PORTS (the demo) or free ones (tests). `quiet`: keep the children's
 * output off the console (it is still kept for error messages). `replace`: [from, to] text replacements
 * applied to examples/demo.yaml (tests that need another setting).
 */
export async function startStack({ ports = DEMO_PORTS, quiet = false, replace = [], directory = haveSlapd() } = {}) {
  let ldapDir = null;
  if (directory) {
    ldapDir = ports === DEMO_PORTS ? DEMO_LDAP_DIR : mkdtempSync(path.join(tmpdir(), 'freshgate-ldap-'));
    rmSync(ldapDir, { recursive: true, force: true });
  }
  const config = configFor(ports, replace, ldapDir);
  const origin = `http://localhost:${ports.gateway}`;
  const children = [];
  const stop = async () => {
    for (const child of children.reverse()) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => {
          const timer = setTimeout(() => { child.kill('SIGKILL'); r(); }, 5000);
          child.once('exit', () => { clearTimeout(timer); r(); });
        });
      }
    }
  };
  try {
    const idp = start('provider', process.execPath, [
      path.join(REPO, 'tests/idp/server.mjs'), '--port', String(ports.idp), '--origin', origin,
      '--post-logout-redirect-uri', `http://127.0.0.1:${ports.simulator}/`, '--exit-on-stdin-close',
    ], { quiet: true });
    children.push(idp);
    await waitFor(idp, (l) => l.includes('"ready":true'), 'the provider ready line');
    if (directory) {
      const ldap = start('directory', 'bash', [
        path.join(REPO, 'tests/ldap/slapd.sh'), '--dir', ldapDir, '--ldap-port', String(ports.ldap),
        '--ldaps-port', String(ports.ldaps), '--exit-on-stdin-close', '--remove-dir-on-exit',
      ], { quiet: true });
      children.push(ldap);
      await waitFor(ldap, (l) => l.includes('"ready":true'), 'the test directory ready line');
    }
    const gateway = start('freshgate', binary(), ['serve', '-c', config], { quiet });
    children.push(gateway);
    await waitFor(gateway, (l) => l.includes('listening') && l.includes('gateway'), 'the gateway listening');
    await waitReady(`http://127.0.0.1:${ports.admin}/readyz`);
    const simulator = start('simulate', binary(), ['simulate', '-c', config, '--account', 'demo'], { quiet });
    children.push(simulator);
    await waitFor(simulator, (l) => l.startsWith('Freshworks simulator'), 'the simulator listening');
    let adSimulator = null;
    if (directory) {
      adSimulator = start('simulate-ad', binary(), ['simulate', '-c', config, '--account', 'demo-ad'], { quiet });
      children.push(adSimulator);
      await waitFor(adSimulator, (l) => l.startsWith('Freshworks simulator'), 'the directory simulator listening');
    }
    const app = await startApp(ports.app, origin);
    children.push(app);
    return {
      portal: `http://127.0.0.1:${ports.simulator}/`,
      adPortal: directory ? `http://127.0.0.1:${ports.adSimulator}/` : null,
      app: `http://localhost:${ports.app}/`,
      config,
      gateway: origin,
      admin: `http://127.0.0.1:${ports.admin}`,
      children: { idp, gateway, simulator },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * The demo's "app": a page on an allowed Web Chat origin that includes the gateway's widget.js, with a
 * stand-in for Freshdesk's widget. Shaped like a child process so `stop` can end it.
 */
async function startApp(port, gateway) {
  const page = readFileSync(path.join(REPO, 'tests/browser/app.html'), 'utf8').replaceAll('__GATEWAY__', gateway);
  const server = http.createServer((req, res) => {
    if (req.url === '/' || req.url.startsWith('/?')) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(page);
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
    }
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  let closed = false;
  return {
    label: 'app',
    get exitCode() { return closed ? 0 : null; },
    signalCode: null,
    kill() { closed = true; server.close(); server.closeAllConnections(); },
    once(event, callback) { if (event === 'exit') setImmediate(callback); },
  };
}

/**
 * A test stack on free ports. A port found free can be taken by another process (an outgoing connection
 * draws from the same ephemeral range) before our child binds it; such a start is retried on new ports.
 */
export async function startFreeStack(options = {}) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startStack({ ...options, ports: await freePorts() });
    } catch (err) {
      const taken = /Address already in use|EADDRINUSE/.test(String(err?.message));
      if (!taken || attempt >= 5) throw err;
    }
  }
}

/** Free ports for a test stack. */
export async function freePorts() {
  return {
    gateway: await freePort(), idp: await freePort(), admin: await freePort(), simulator: await freePort(),
    app: await freePort(), adSimulator: await freePort(), ldap: await freePort(), ldaps: await freePort(),
  };
}
