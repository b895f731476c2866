// HTML pages of the test OpenID provider: login form, logout confirmation,
// logout success and error pages. Plain HTML, UTF-8, no external resources.

export function escapeHtml(value) {
  return String(value ?? '')
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

const STYLE = `
  body { font-family: system-ui, sans-serif; background: #f3f4f6; margin: 0; }
  main { max-width: 22rem; margin: 4rem auto; background: #fff; padding: 2rem;
         border-radius: .5rem; box-shadow: 0 1px 3px rgba(0,0,0,.2); }
  h1 { font-size: 1.4rem; margin: 0 0 1rem; }
  label { display: block; margin: .75rem 0 .25rem; font-weight: 600; }
  input { width: 100%; box-sizing: border-box; padding: .5rem; font-size: 1rem; }
  .buttons { display: flex; gap: .5rem; margin-top: 1.25rem; }
  button { flex: 1; padding: .6rem; font-size: 1rem; cursor: pointer; border-radius: .3rem;
           border: 1px solid #1d4ed8; background: #2563eb; color: #fff; }
  button.secondary { background: #fff; color: #1d4ed8; }
  .error { color: #b91c1c; background: #fee2e2; padding: .5rem; border-radius: .3rem; }
  .muted { color: #6b7280; font-size: .85rem; }`;

function layout(title, body, { script = '' } = {}) {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
${body}
</main>${script ? `\n<script>${script}</script>` : ''}
</body>
</html>
`;
}

/** The login form. `action` is a host-relative path (no origin, no port). */
export function loginPage({ action, username = '', error, clientId, provider }) {
  return layout('Sign in to Acme', `<h1>Sign in to Acme</h1>
<p class="muted">to continue to <span id="client-id">${escapeHtml(clientId)}</span> (${escapeHtml(provider)})</p>
${error ? `<p class="error" id="error" role="alert">${escapeHtml(error)}</p>` : ''}
<form id="login-form" name="login" method="post" action="${escapeHtml(action)}" accept-charset="utf-8">
  <label for="username">Username</label>
  <input id="username" name="username" type="text" autocomplete="username" autocapitalize="off" value="${escapeHtml(username)}" required${username ? '' : ' autofocus'}>
  <label for="password">Password</label>
  <input id="password" name="password" type="password" autocomplete="current-password" required${username ? ' autofocus' : ''}>
  <div class="buttons">
    <button id="sign-in" name="sign-in" type="submit" value="1">Sign in</button>
    <button id="cancel" name="cancel" type="submit" value="1" class="secondary" formnovalidate>Cancel</button>
  </div>
</form>`);
}

/** rpInitiatedLogout.logoutSource: confirmation page, auto-submitted when the
 *  request carried a valid id_token_hint (as Keycloak and Okta do). */
export function logoutPage(form, { autoSubmit }) {
  const withLogout = form.replace('</form>', '<input type="hidden" name="logout" value="yes"/></form>');
  return layout('Sign out of Acme', `<h1>Sign out of Acme</h1>
<p>Do you want to sign out?</p>
${withLogout}
<div class="buttons">
  <button id="logout-confirm" type="submit" form="op.logoutForm">Sign out</button>
</div>`, { script: autoSubmit ? "document.getElementById('op.logoutForm').submit();" : '' });
}

export function logoutSuccessPage() {
  return layout('Signed out', '<h1 id="signed-out">You are signed out</h1>');
}

export function errorPage(out) {
  const rows = Object.entries(out)
    .map(([k, v]) => `<p><strong>${escapeHtml(k)}</strong>: <span id="${escapeHtml(k)}">${escapeHtml(v)}</span></p>`)
    .join('\n');
  return layout('Error', `<h1>Something went wrong</h1>\n${rows}`);
}
