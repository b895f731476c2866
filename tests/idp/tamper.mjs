// ID token tampering for negative tests of the relying party (freshgate).
// Each mode rewrites a genuine ID token issued by the provider.
import { createHmac } from 'node:crypto';
import { CompactSign } from 'jose';

export const TAMPER_MODES = [
  'none', 'wrong_nonce', 'wrong_iss', 'wrong_aud', 'alg_none', 'hs256_with_public_key',
  'expired', 'bad_signature', 'extra_aud_no_azp', 'wrong_azp',
];

const b64 = (value) => Buffer.from(value).toString('base64url');
const b64json = (value) => b64(JSON.stringify(value));
const parse = (part) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));

/**
 * @param {string} idToken   the genuine compact JWS
 * @param {string} mode      one of TAMPER_MODES
 * @param {object} key       { privateKey: CryptoKey, publicKeyPem: string, kid: string }
 * @param {object} opts      { origin, clientId }
 */
export async function tamperIdToken(idToken, mode, key, { origin, clientId }) {
  if (mode === 'none') return idToken;
  const [h, p, s] = idToken.split('.');
  const header = parse(h);
  const payload = parse(p);
  const now = Math.floor(Date.now() / 1000);

  const resign = async (claims) => new CompactSign(Buffer.from(JSON.stringify(claims)))
    .setProtectedHeader(header)
    .sign(key.privateKey);

  switch (mode) {
    case 'wrong_nonce':
      return resign({ ...payload, nonce: `tampered-${payload.nonce ?? 'nonce'}` });
    case 'wrong_iss':
      return resign({ ...payload, iss: `${origin}/realms/evil` });
    case 'wrong_aud':
      return resign({ ...payload, aud: 'someone-else' });
    case 'expired':
      return resign({ ...payload, exp: now - 3600, iat: now - 7200 });
    case 'extra_aud_no_azp': {
      const { azp, ...rest } = payload;
      return resign({ ...rest, aud: [clientId, 'other-client'] });
    }
    case 'wrong_azp':
      return resign({ ...payload, azp: 'other-client' });
    case 'alg_none':
      return `${b64json({ alg: 'none', typ: 'JWT' })}.${p}.`;
    case 'hs256_with_public_key': {
      // Algorithm confusion: HMAC keyed with the bytes of the public key PEM (SPKI).
      const signingInput = `${b64json({ alg: 'HS256', typ: 'JWT', kid: header.kid })}.${p}`;
      const mac = createHmac('sha256', Buffer.from(key.publicKeyPem, 'utf8')).update(signingInput).digest();
      return `${signingInput}.${mac.toString('base64url')}`;
    }
    case 'bad_signature': {
      const sig = Buffer.from(s, 'base64url');
      sig[Math.floor(sig.length / 2)] ^= 0x01;
      return `${h}.${p}.${sig.toString('base64url')}`;
    }
    default:
      throw new Error(`unknown tamper mode ${mode}`);
  }
}
