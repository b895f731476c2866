#!/usr/bin/env node
// Independent JWT verifier for freshgate's tests (uses `jose`, not freshgate code).
//
//   node tests/idp/verify-jwt.mjs --alg RS256 --public-key-file key.pem --token <jwt>
//   node tests/idp/verify-jwt.mjs --alg HS256 --secret-file secret.bin --token -   (token on stdin)
//
// The algorithm is pinned to --alg; no issuer/audience expectations; clockTolerance 0;
// a missing exp is accepted. Prints {"header":{...},"payload":{...}} and exits 0,
// or prints {"error":"..."} and exits 1.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { importSPKI, jwtVerify } from 'jose';

function fail(message, code) {
  process.stdout.write(`${JSON.stringify(code ? { error: message, code } : { error: message })}\n`);
  process.exit(1);
}

async function main() {
  let args;
  try {
    ({ values: args } = parseArgs({
      options: {
        alg: { type: 'string' },
        'public-key-file': { type: 'string' },
        'secret-file': { type: 'string' },
        token: { type: 'string' },
      },
      strict: true,
    }));
  } catch (err) {
    return fail(err.message);
  }
  if (!args.alg) return fail('--alg is required');
  if (!args.token) return fail('--token is required (use "-" for stdin)');

  const token = (args.token === '-' ? readFileSync(0, 'utf8') : args.token).trim();

  let key;
  if (args.alg.startsWith('HS')) {
    if (!args['secret-file']) return fail(`--secret-file is required for ${args.alg}`);
    key = new Uint8Array(readFileSync(args['secret-file']));
  } else {
    if (!args['public-key-file']) return fail(`--public-key-file is required for ${args.alg}`);
    key = await importSPKI(readFileSync(args['public-key-file'], 'utf8'), args.alg);
  }

  const { protectedHeader, payload } = await jwtVerify(token, key, {
    algorithms: [args.alg],
    clockTolerance: 0,
  });
  process.stdout.write(`${JSON.stringify({ header: protectedHeader, payload })}\n`);
  return undefined;
}

main().catch((err) => fail(err.message || String(err), err.code));
