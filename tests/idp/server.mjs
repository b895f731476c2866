#!/usr/bin/env node
// freshgate's OpenID provider test server: a Keycloak-style and an Okta-style
// oidc-provider instance on one HTTP server, plus /__admin/ test controls.
// Usage and endpoints: see README.md in this directory.
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import {
  CompactSign, calculateJwkThumbprint, exportJWK, exportSPKI, generateKeyPair,
} from 'jose';
import { FLAVOURS, createProvider } from './provider.mjs';
import { createStore } from './memory-store.mjs';
import { TAMPER_MODES } from './tamper.mjs';

// stdout carries exactly one JSON "ready" line; everything else goes to stderr
// (oidc-provider prints its notices with console.info).
for (const name of ['log', 'info', 'debug']) console[name] = console.error;

const USAGE = 'usage: server.mjs --origin http://sso.freshgate.test [--port 0] [--host 127.0.0.1] '
  + '[--redirect-uri URL]... [--post-logout-redirect-uri URL]... [--client-id ID] [--client-secret S] '
  + '[--exit-on-stdin-close]';

function usage(message) {
  if (message) console.error(message);
  console.error(USAGE);
  process.exit(2);
}

let args;
try {
  ({ values: args } = parseArgs({
    options: {
      port: { type: 'string', default: '0' },
      host: { type: 'string', default: '127.0.0.1' },
      origin: { type: 'string' },
      'redirect-uri': { type: 'string', multiple: true },
      'post-logout-redirect-uri': { type: 'string', multiple: true },
      'client-id': { type: 'string', default: 'freshgate' },
      'client-secret': { type: 'string', default: 'freshgate-secret' },
      'exit-on-stdin-close': { type: 'boolean', default: false },
    },
    strict: true,
  }));
} catch (err) {
  usage(err.message);
}
if (!args.origin || !URL.canParse(args.origin)) usage('--origin must be an absolute URL');
const port = Number(args.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) usage(`invalid --port ${args.port}`);

const origin = new URL(args.origin).origin;
const clientConfig = {
  origin,
  clientId: args['client-id'],
  clientSecret: args['client-secret'],
  redirectUris: args['redirect-uri'] ?? [`${origin}/sso/jwt/callback`],
  postLogoutRedirectUris: args['post-logout-redirect-uri'] ?? [`${origin}/`],
};

const DEFAULTS = { claimsMode: 'id_token', tamper: 'none' };
const MAX_RETIRED_KEYS = 3;
const cookieKeys = [randomBytes(32).toString('base64url')];

async function newSigningKey() {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint(jwk);
  return {
    kid,
    privateKey,
    privateJwk: { ...jwk, kid, alg: 'RS256', use: 'sig' },
    publicKeyPem: await exportSPKI(publicKey),
  };
}

// Per flavour: settings, keys (current first), shared store, live provider instance.
const realms = {};
for (const flavour of Object.values(FLAVOURS)) {
  const realm = {
    flavour,
    settings: { ...DEFAULTS },
    keys: [await newSigningKey()],
    Adapter: createStore(),
  };
  realm.build = () => {
    realm.provider = createProvider(flavour, {
      ...clientConfig,
      keys: realm.keys,
      cookieKeys,
      Adapter: realm.Adapter,
      settings: () => realm.settings,
    });
    realm.callback = realm.provider.callback();
  };
  realm.build();
  realms[flavour.name] = realm;
}

// ---------------------------------------------------------------- admin API
class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function readJson(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > 64 * 1024) throw new HttpError(413, 'body too large');
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (!text) return {};
  try {
    const body = JSON.parse(text);
    if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new Error('not an object');
    return body;
  } catch {
    throw new HttpError(400, 'body must be a JSON object');
  }
}

function selectRealms(body) {
  if (body.provider === undefined) return Object.values(realms);
  if (typeof body.provider !== 'string' || !Object.hasOwn(realms, body.provider)) {
    throw new HttpError(400, `unknown provider ${JSON.stringify(body.provider)}`);
  }
  return [realms[body.provider]];
}

function state() {
  const out = {};
  for (const [name, realm] of Object.entries(realms)) {
    out[name] = {
      issuer: realm.provider.issuer,
      claimsMode: realm.settings.claimsMode,
      tamper: realm.settings.tamper,
      kid: realm.keys[0].kid,
      retiredKids: realm.keys.slice(1).map((k) => k.kid),
      publicKeyPem: realm.keys[0].publicKeyPem,
    };
  }
  return out;
}

const isObject = (value) => value !== null && typeof value === 'object' && !Array.isArray(value);

// Signs `payload` byte for byte (JSON.stringify, nothing added) with the realm's
// current private key: protected header {alg:"RS256", kid:<current kid>, ...header}.
async function signArbitrary(body) {
  const name = body.provider ?? 'keycloak';
  if (typeof name !== 'string' || !Object.hasOwn(realms, name)) {
    throw new HttpError(400, `unknown provider ${JSON.stringify(name)}`);
  }
  const realm = realms[name];
  if (!isObject(body.payload)) throw new HttpError(400, 'payload must be a JSON object');
  const extraHeader = body.header ?? {};
  if (!isObject(extraHeader)) throw new HttpError(400, 'header must be a JSON object');
  if (extraHeader.alg !== undefined && extraHeader.alg !== 'RS256') {
    throw new HttpError(400, 'header.alg can only be "RS256"');
  }
  if (extraHeader.kid !== undefined && typeof extraHeader.kid !== 'string') {
    throw new HttpError(400, 'header.kid must be a string');
  }
  const key = realm.keys[0];
  try {
    const token = await new CompactSign(Buffer.from(JSON.stringify(body.payload), 'utf8'))
      .setProtectedHeader({ alg: 'RS256', kid: key.kid, ...extraHeader })
      .sign(key.privateKey);
    return { token };
  } catch (err) {
    throw new HttpError(400, `cannot sign: ${err.message}`);
  }
}

const admin = {
  'POST /__admin/sign': signArbitrary,
  'GET /__admin/state': async () => state(),
  'POST /__admin/rotate-keys': async (body) => {
    const result = {};
    for (const realm of selectRealms(body)) {
      realm.keys = [await newSigningKey(), ...realm.keys].slice(0, 1 + MAX_RETIRED_KEYS);
      realm.build();
      result[realm.flavour.name] = realm.keys[0].kid;
      console.error(`[${realm.flavour.name}] rotated signing key, kid ${realm.keys[0].kid}`);
    }
    const kids = Object.values(result);
    return { kid: kids.length === 1 ? kids[0] : result.keycloak, kids: result };
  },
  'POST /__admin/claims-mode': async (body) => {
    if (!['id_token', 'userinfo'].includes(body.mode)) {
      throw new HttpError(400, 'mode must be "id_token" or "userinfo"');
    }
    for (const realm of selectRealms(body)) realm.settings.claimsMode = body.mode;
    return state();
  },
  'POST /__admin/tamper': async (body) => {
    if (!TAMPER_MODES.includes(body.mode)) {
      throw new HttpError(400, `mode must be one of ${TAMPER_MODES.join(', ')}`);
    }
    for (const realm of selectRealms(body)) realm.settings.tamper = body.mode;
    return state();
  },
  'POST /__admin/reset': async (body) => {
    for (const realm of selectRealms(body)) realm.settings = { ...DEFAULTS };
    return state();
  },
};

async function handleAdmin(req, res, pathname) {
  let status = 200;
  let payload;
  try {
    const handler = admin[`${req.method} ${pathname}`];
    if (!handler) throw new HttpError(404, `no admin endpoint ${req.method} ${pathname}`);
    payload = await handler(req.method === 'POST' ? await readJson(req) : {});
  } catch (err) {
    status = err.status ?? 500;
    if (status >= 500) console.error('admin error', err);
    payload = { error: err.message };
  }
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(`${JSON.stringify(payload)}\n`);
}

// ---------------------------------------------------------------- dispatch
function dispatch(req, res) {
  const pathname = req.url.split('?')[0];
  if (pathname.startsWith('/__admin/')) return handleAdmin(req, res, pathname);

  for (const realm of Object.values(realms)) {
    const prefix = realm.flavour.path;
    if (pathname === prefix || pathname.startsWith(`${prefix}/`)) {
      // Mount the provider at its issuer path: it sees the rest of the path and
      // derives its mount point from req.originalUrl.
      req.originalUrl = req.url;
      req.url = req.url.slice(prefix.length) || '/';
      return realm.callback(req, res);
    }
  }
  res.writeHead(404, { 'content-type': 'application/json; charset=utf-8' });
  res.end(`${JSON.stringify({ error: 'not_found', path: pathname })}\n`);
  return undefined;
}

const server = http.createServer((req, res) => {
  Promise.resolve(dispatch(req, res)).catch((err) => {
    console.error('request failed', err);
    if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
    res.end('{"error":"server_error"}\n');
  });
});
server.on('clientError', (err, socket) => socket.destroy());

process.on('unhandledRejection', (err) => console.error('unhandled rejection', err));
process.on('uncaughtException', (err) => console.error('uncaught exception', err));

let stopping = false;
function stop(reason) {
  if (stopping) return;
  stopping = true;
  console.error(`stopping (${reason})`);
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));
if (args['exit-on-stdin-close']) {
  process.stdin.on('end', () => stop('stdin closed'));
  process.stdin.on('close', () => stop('stdin closed'));
  process.stdin.on('error', () => stop('stdin error'));
  process.stdin.resume();
}

server.on('error', (err) => {
  console.error('server error', err);
  process.exit(1);
});
server.listen(port, args.host, () => {
  const ready = {
    ready: true,
    port: server.address().port,
    issuers: {
      keycloak: realms.keycloak.provider.issuer,
      okta: realms.okta.provider.issuer,
    },
  };
  process.stdout.write(`${JSON.stringify(ready)}\n`);
  console.error(`listening on http://${args.host}:${ready.port}, public origin ${origin}`);
});
