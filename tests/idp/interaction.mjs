// The interaction endpoint: a real login form with a password check.
// Consent is auto-granted for the configured client (no consent page).
import { createHash, timingSafeEqual } from 'node:crypto';
import { findUserByUsername } from './users.mjs';
import { errorPage, loginPage } from './pages.mjs';

const MAX_BODY = 64 * 1024;

async function readForm(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > MAX_BODY) throw Object.assign(new Error('request body too large'), { status: 413 });
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function passwordMatches(given, expected) {
  // Hash first so the comparison is constant-time regardless of lengths.
  const digest = (s) => createHash('sha256').update(String(s).normalize('NFC'), 'utf8').digest();
  return timingSafeEqual(digest(given), digest(expected));
}

const asList = (value) => (value === undefined ? [] : [].concat(value));

/** Grants everything the client asked for (or what the consent prompt lists as missing). */
async function autoGrant(provider, details, accountId, sessionGrantId) {
  const { params, prompt } = details;
  let grant;
  // Reuse the grant this browser's session already holds for the client (a login finished in another tab),
  // so codes issued for the other tabs stay valid, as with Keycloak and Okta.
  const grantId = details.grantId ?? sessionGrantId;
  if (grantId) grant = await provider.Grant.find(grantId);
  if (!grant || grant.accountId !== accountId) {
    grant = new provider.Grant({ accountId, clientId: params.client_id });
  }
  const missing = prompt.name === 'consent' ? prompt.details : {};
  const scope = missing.missingOIDCScope ? missing.missingOIDCScope.join(' ') : params.scope;
  if (scope) grant.addOIDCScope(scope);
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  if (missing.missingResourceScopes) {
    for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes)) {
      grant.addResourceScope(indicator, scopes.join(' '));
    }
  } else if (params.scope) {
    for (const indicator of asList(params.resource)) grant.addResourceScope(indicator, params.scope);
  }
  return grant.save();
}

async function finish(ctx, provider, result, mergeWithLastSubmission = false) {
  const redirectTo = await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission });
  ctx.status = 303;
  ctx.redirect(redirectTo);
}

export async function handleInteraction(ctx, provider, flavour) {
  ctx.set('cache-control', 'no-store');
  try {
    if (ctx.method !== 'GET' && ctx.method !== 'POST') {
      ctx.status = 405;
      return;
    }
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    const { uid, prompt, params } = details;
    const action = `${flavour.path}/interaction/${uid}`;
    const render = (status, extra = {}) => {
      ctx.status = status;
      ctx.type = 'html';
      ctx.body = loginPage({ action, clientId: params.client_id, provider: flavour.name, ...extra });
    };

    if (prompt.name === 'consent') {
      // Already logged in; the configured client is trusted: grant and continue.
      const grantId = await autoGrant(provider, details, details.session.accountId);
      return finish(ctx, provider, { consent: { grantId } }, true);
    }
    if (prompt.name !== 'login') throw new Error(`unsupported prompt ${prompt.name}`);

    if (ctx.method === 'GET') return render(200, { username: params.login_hint ?? '' });

    const form = await readForm(ctx.req);
    if (form.has('cancel')) {
      return finish(ctx, provider, {
        error: 'access_denied',
        error_description: 'The user cancelled the login',
      });
    }
    const username = form.get('username') ?? '';
    const user = findUserByUsername(username);
    // Always run the comparison so timing does not reveal whether the user exists.
    const ok = passwordMatches(form.get('password') ?? '', user?.password ?? '\u0000no-such-user') && !!user;
    if (!ok) {
      console.error(`[${flavour.name}] failed login for ${JSON.stringify(username)}`);
      return render(401, { username, error: 'Invalid username or password' });
    }
    const accountId = user.claims.sub;
    const session = await provider.Session.get(ctx).catch(() => undefined);
    const sessionGrantId = session?.accountId === accountId ? session.grantIdFor(params.client_id) : undefined;
    const grantId = await autoGrant(provider, details, accountId, sessionGrantId);
    console.error(`[${flavour.name}] login ${accountId}`);
    return finish(ctx, provider, { login: { accountId }, consent: { grantId } });
  } catch (err) {
    const status = err.status ?? err.statusCode ?? 500;
    if (status >= 500) console.error(`[${flavour.name}] interaction error`, err);
    ctx.status = status;
    ctx.type = 'html';
    ctx.body = errorPage({ error: err.error ?? 'server_error', error_description: err.error_description ?? err.message });
  }
}
