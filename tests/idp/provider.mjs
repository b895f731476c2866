// Builds one oidc-provider instance for a "flavour" (Keycloak-style or Okta-style).
// The instance is re-created on key rotation, sharing its adapter store and
// cookie keys with the previous one so sessions survive.
import Provider from 'oidc-provider';
import { findUserBySub } from './users.mjs';
import { tamperIdToken } from './tamper.mjs';
import { errorPage, logoutPage, logoutSuccessPage } from './pages.mjs';
import { handleInteraction } from './interaction.mjs';

export const FLAVOURS = {
  keycloak: {
    name: 'keycloak',
    path: '/realms/acme',
    authMethod: 'client_secret_basic',
    routes: {
      authorization: '/protocol/openid-connect/auth',
      token: '/protocol/openid-connect/token',
      userinfo: '/protocol/openid-connect/userinfo',
      jwks: '/protocol/openid-connect/certs',
      end_session: '/protocol/openid-connect/logout',
      pushed_authorization_request: '/protocol/openid-connect/ext/par/request',
    },
  },
  okta: {
    name: 'okta',
    path: '/oauth2/default',
    authMethod: 'client_secret_post',
    routes: {
      authorization: '/v1/authorize',
      token: '/v1/token',
      userinfo: '/v1/userinfo',
      jwks: '/v1/keys',
      end_session: '/v1/logout',
      pushed_authorization_request: '/v1/par',
    },
  },
};

// Identity claims copied into JWT access tokens (like a Keycloak protocol mapper
// or an Okta custom claim), when the account has them. Not scope-dependent.
export const ACCESS_TOKEN_CLAIMS = ['email', 'name', 'given_name', 'family_name', 'locale', 'phone_number'];

export const CLAIMS_BY_SCOPE = {
  openid: ['sub'],
  email: ['email', 'email_verified'],
  profile: ['name', 'given_name', 'family_name', 'preferred_username', 'locale', 'picture'],
  phone: ['phone_number', 'phone_number_verified'],
  address: ['address'],
};

/**
 * @param {object} flavour      an entry of FLAVOURS
 * @param {object} opts
 *   origin, clientId, clientSecret, redirectUris, postLogoutRedirectUris,
 *   keys: [{ kid, privateJwk, privateKey, publicKeyPem }] current key first,
 *   cookieKeys, Adapter, settings(): { claimsMode, tamper }
 */
export function createProvider(flavour, opts) {
  const issuer = `${opts.origin}${flavour.path}`;
  const current = opts.keys[0];

  const provider = new Provider(issuer, {
    adapter: opts.Adapter,
    jwks: { keys: opts.keys.map((k) => k.privateJwk) },
    clients: [{
      client_id: opts.clientId,
      client_secret: opts.clientSecret,
      redirect_uris: opts.redirectUris,
      post_logout_redirect_uris: opts.postLogoutRedirectUris,
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: flavour.authMethod,
      id_token_signed_response_alg: 'RS256',
    }],
    clientAuthMethods: [flavour.authMethod],
    responseTypes: ['code'],
    enabledJWA: { idTokenSigningAlgValues: ['RS256'] },
    scopes: ['openid', 'offline_access', 'email', 'profile', 'phone', 'address'],
    claims: { acr: null, sid: null, auth_time: null, iss: null, ...CLAIMS_BY_SCOPE },
    // false: scope-based claims go into the ID token too (code flow); the
    // "userinfo" claims mode strips them in findAccount instead.
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    routes: flavour.routes,
    cookies: {
      keys: opts.cookieKeys,
      names: {
        session: `${flavour.name}_session`,
        interaction: `${flavour.name}_interaction`,
        resume: `${flavour.name}_interaction_resume`,
      },
      long: { httpOnly: true, sameSite: 'lax', path: flavour.path },
      short: { httpOnly: true, sameSite: 'lax' },
    },
    interactions: {
      url: (ctx, interaction) => `${flavour.path}/interaction/${interaction.uid}`,
    },
    features: {
      devInteractions: { enabled: false },
      userinfo: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        async logoutSource(ctx, form) {
          ctx.type = 'html';
          ctx.body = logoutPage(form, { autoSubmit: !!ctx.oidc.entities.IdTokenHint });
        },
        async postLogoutSuccessSource(ctx) {
          ctx.type = 'html';
          ctx.body = logoutSuccessPage();
        },
      },
      // Any `resource` indicator (RFC 8707) yields a JWT access token (RS256,
      // aud = the indicator). Without one, access tokens are opaque.
      resourceIndicators: {
        enabled: true,
        defaultResource: async (ctx, client, oneOf) => oneOf ?? undefined,
        useGrantedResource: async () => false,
        getResourceServerInfo: async (ctx, resourceIndicator) => ({
          scope: 'api:read api:write',
          audience: resourceIndicator,
          accessTokenTTL: 3600,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        }),
      },
    },
    ttl: {
      AccessToken: 3600,
      AuthorizationCode: 60,
      IdToken: 3600,
      Interaction: 3600,
      Session: 24 * 3600,
      Grant: 24 * 3600,
      RefreshToken: 24 * 3600,
    },
    // JWT access tokens only: the account's identity claims (ACCESS_TOKEN_CLAIMS).
    // oidc-provider spreads these first, so they can never replace sub, iss, aud,
    // exp, iat, jti, client_id or scope. Opaque tokens get nothing extra.
    async extraTokenClaims(ctx, token) {
      if ((token.resourceServer?.accessTokenFormat ?? 'opaque') !== 'jwt') return undefined;
      const user = token.accountId ? findUserBySub(token.accountId) : undefined;
      if (!user) return undefined;
      const extra = {};
      for (const name of ACCESS_TOKEN_CLAIMS) {
        if (user.claims[name] !== undefined) extra[name] = user.claims[name];
      }
      return extra;
    },
    async findAccount(ctx, sub) {
      const user = findUserBySub(sub);
      if (!user) return undefined;
      return {
        accountId: sub,
        async claims(use) {
          if (use === 'id_token' && opts.settings().claimsMode === 'userinfo') return { sub };
          return structuredClone(user.claims);
        },
      };
    },
    async renderError(ctx, out) {
      ctx.type = 'html';
      ctx.body = errorPage(out);
    },
  });

  // Honour X-Forwarded-Proto / X-Forwarded-Host from the gateway.
  provider.proxy = true;

  // oidc-provider accepts client_secret_basic and client_secret_post
  // interchangeably; enforce the single advertised method, as the real provider
  // would. (A secret in both places is rejected by oidc-provider itself.)
  provider.use(async (ctx, next) => {
    if (ctx.method !== 'POST' || ctx.path !== flavour.routes.token) return next();
    const hasBasic = ctx.get('authorization') !== '';
    if (hasBasic !== (flavour.authMethod === 'client_secret_basic')) {
      ctx.status = 401;
      if (flavour.authMethod === 'client_secret_basic') ctx.set('www-authenticate', 'Basic realm="acme"');
      ctx.set('cache-control', 'no-store');
      ctx.body = {
        error: 'invalid_client',
        error_description: `client authentication failed: only ${flavour.authMethod} is allowed`,
      };
      return undefined;
    }
    return next();
  });

  // The login form (GET/POST <issuer path>/interaction/:uid).
  provider.use(async (ctx, next) => {
    const match = /^\/interaction\/([^/]+)$/.exec(ctx.path);
    if (!match) return next();
    return handleInteraction(ctx, provider, flavour);
  });

  // Post-processing: ID token tampering and a JWKS that shows only the current key
  // (retired keys stay in the keystore so old id_token_hints still validate).
  provider.use(async (ctx, next) => {
    await next();
    const route = ctx.oidc?.route;
    if (route === 'token' && ctx.status === 200 && ctx.body?.id_token) {
      const mode = opts.settings().tamper;
      if (mode !== 'none') {
        ctx.body.id_token = await tamperIdToken(ctx.body.id_token, mode, current, {
          origin: opts.origin, clientId: opts.clientId,
        });
      }
    } else if (route === 'jwks' && ctx.status === 200 && Array.isArray(ctx.body?.keys)) {
      ctx.body = { keys: ctx.body.keys.filter((k) => k.kid === current.kid) };
    }
  });

  provider.on('server_error', (ctx, err) => console.error(`[${flavour.name}] server_error`, err));
  return provider;
}
