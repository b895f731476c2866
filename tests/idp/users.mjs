// Test users of the freshgate OpenID provider test server.
// The same users exist in both the Keycloak-style and the Okta-style provider.
// `sub` is the account id; `claims` are the standard OIDC claims returned for the
// scopes that were granted (see CLAIMS_BY_SCOPE in provider.mjs).

export const USERS = [
  {
    username: 'alice',
    password: 'alice-password',
    claims: {
      sub: 'alice-0001',
      email: 'alice@example.com',
      email_verified: true,
      given_name: 'Alice',
      family_name: 'Anderson',
      name: 'Alice Anderson',
      preferred_username: 'alice',
      locale: 'en',
      phone_number: '+1 555 0100',
      picture: 'https://example.com/alice.png',
      address: { locality: 'Springfield', country: 'US' },
    },
  },
  {
    username: 'bob',
    password: 'bob-password',
    claims: {
      sub: 'bob-0002',
      email: 'bob@example.com',
      email_verified: true,
      given_name: 'Bob',
      name: 'Bob',
      // no family_name, no phone_number, no picture
    },
  },
  {
    username: 'zoë',
    password: 'pässwörd-ß-日本',
    claims: {
      sub: 'zoe-0003',
      email: 'zoe@example.com',
      email_verified: true,
      given_name: 'Zoë',
      family_name: 'Ødegård-Łukasiewicz',
      name: 'Zoë Ødegård-Łukasiewicz',
    },
  },
  {
    username: 'carol',
    password: 'carol-password',
    claims: {
      sub: 'carol-0004',
      given_name: 'Carol',
      family_name: 'Clark',
      // no email
    },
  },
  {
    // Typed someone else's address into her profile; the provider never verified it.
    username: 'mallory',
    password: 'mallory-password',
    claims: {
      sub: 'mallory-0005',
      email: 'alice@example.com',
      email_verified: false,
      given_name: 'Mallory',
      family_name: 'Mole',
    },
  },
];

const nfc = (s) => String(s).normalize('NFC');

/** Exact (NFC-normalised) username lookup. */
export function findUserByUsername(username) {
  const wanted = nfc(username);
  return USERS.find((u) => nfc(u.username) === wanted);
}

export function findUserBySub(sub) {
  return USERS.find((u) => u.claims.sub === sub);
}
