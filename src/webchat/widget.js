/* freshgate Web Chat loader: fetches a Freshdesk Web Chat identity token from the gateway and starts the
 * widget with it (window.fdWidget.init({ host, token, widgetId, jwtAuthToken })), then keeps a fresh token.
 *
 * Include it after configuring, if needed:
 *   <script>
 *     window.freshgateWebchat = {
 *       getAccessToken: async () => myApp.accessToken(), // optional: the provider access token (Bearer);
 *                                                      // without it, the browser session from
 *                                                      // /sso/webchat/login is used (cookie)
 *       login: true,            // optional: send the browser to /sso/webchat/login when there is no session
 *       onToken: (token) => {}, // optional: called with every fresh token after the first
 *       onError: (error) => {}, // optional
 *       loadWidget: true,       // optional (default true): load <host>/webchat/js/widget.js when fdWidget is absent
 *     };
 *   </script>
 *   <script src="https://sso.example.com/sso/webchat/widget.js" async></script>
 */
(function () {
  'use strict';
  var config = /*FRESHGATE_CONFIG*/{};
  var options = window.freshgateWebchat || {};
  var state = { token: null, expiresAt: 0, timer: null };
  var api = (window.freshgateWebchat = Object.assign(options, { state: state, refresh: refresh }));

  function report(error) {
    if (typeof options.onError === 'function') options.onError(error);
    else if (window.console) console.error('freshgate webchat:', error);
  }

  async function fetchToken() {
    var headers = { 'X-Freshgate-Webchat': '1' };
    var credentials = 'include';
    if (typeof options.getAccessToken === 'function') {
      var accessToken = await options.getAccessToken();
      if (accessToken) {
        headers.Authorization = 'Bearer ' + accessToken;
        credentials = 'omit';
      }
    }
    var response = await fetch(config.gateway + '/sso/webchat/token', {
      headers: headers,
      credentials: credentials,
      cache: 'no-store',
    });
    if (response.status === 401 && credentials === 'include' && options.login) {
      window.location.assign(
        config.gateway + '/sso/webchat/login?return_to=' + encodeURIComponent(window.location.href)
      );
      return null;
    }
    var body = await response.json().catch(function () { return {}; });
    if (!response.ok) {
      var error = new Error(body.message || 'HTTP ' + response.status);
      error.code = body.error;
      error.status = response.status;
      throw error;
    }
    return body;
  }

  /* Fetch the next token when 80% of this one's lifetime is over (at least 5 s from now). */
  function schedule() {
    clearTimeout(state.timer);
    var lifetime = state.expiresAt * 1000 - Date.now();
    state.timer = setTimeout(refresh, Math.max(5000, lifetime * 0.8));
  }

  /* Keeps a fetched token and schedules the next fetch; false when there is none (login redirect). */
  function accept(body) {
    if (!body) return false;
    state.token = body.token;
    state.expiresAt = body.expires_at;
    schedule();
    return true;
  }

  async function refresh() {
    try {
      if (!accept(await fetchToken())) return;
      if (typeof options.onToken === 'function') options.onToken(state.token);
      window.dispatchEvent(new CustomEvent('freshgate:webchat-token', { detail: { token: state.token, expires_at: state.expiresAt } }));
    } catch (error) {
      report(error);
    }
  }

  function initWidget() {
    window.fdWidget.init({
      host: config.host,
      token: config.token,
      widgetId: config.widgetId,
      jwtAuthToken: state.token,
    });
  }

  function loadWidget(then) {
    if (window.fdWidget || options.loadWidget === false || !config.host) return then();
    var script = document.createElement('script');
    script.id = 'Freshdesk-js-sdk';
    script.async = true;
    script.src = config.host + '/webchat/js/widget.js';
    script.onload = then;
    script.onerror = function () { report(new Error('could not load ' + script.src)); };
    document.head.appendChild(script);
  }

  async function start() {
    try {
      if (!accept(await fetchToken())) return;
      loadWidget(function () {
        if (window.fdWidget) initWidget();
        else report(new Error('window.fdWidget is not available'));
      });
    } catch (error) {
      report(error);
    }
  }

  api.ready = start();
})();
