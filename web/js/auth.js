// The one place the page knows about identity: OAuth 2.0 authorization code with PKCE
// (RFC 7636), as Cognito's managed login speaks it, with the endpoints config.auth names
// (a user pool domain when deployed; the local stack's stand-in pages locally).
//
// Signing in leaves the page for the authorize URL and comes back to config.auth's
// redirect_uri with ?code&state; the page checks state and trades the code and its
// verifier for tokens. They live in sessionStorage: they survive a reload and the
// redirects, but not the tab. Every API call sends the ID token as
// `Authorization: <token>`, the raw token API Gateway's Cognito authorizer reads.
const TOKENS = "lumiere.auth";
const PENDING = "lumiere.signin"; // state, verifier and where to return, across the redirect
const EARLY_MS = 60_000; // refresh this long before the ID token expires

function read(key) {
  try {
    return JSON.parse(sessionStorage.getItem(key)) || null;
  } catch {
    return null;
  }
}

function base64url(bytes) {
  return btoa(String.fromCharCode(...new Uint8Array(bytes)))
    .replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function randomString(bytes = 32) {
  return base64url(crypto.getRandomValues(new Uint8Array(bytes)));
}

async function s256(verifier) {
  return base64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
}

/** The claims of a JWT, unverified: only to show the name and know the expiry (the API
 * verifies the signature). */
export function claimsOf(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const bytes = Uint8Array.from(atob(part), (c) => c.charCodeAt(0));
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return {};
  }
}

/** Where the sign-in sends the browser back: config's redirect_uri, unless the page was
 * opened under another name of itself (localhost for 127.0.0.1 locally): the pending
 * sign-in is kept per origin, so the way back must be this origin. Only registered
 * callback URLs are accepted, so an unregistered name gets the sign-in's error page. */
function redirectUri(auth) {
  const configured = new URL(auth.redirect_uri);
  return configured.origin === location.origin ? auth.redirect_uri : `${location.origin}/`;
}

/** { name, idToken, expiresAt } of the signed-in user, or null. */
export function current() {
  const t = read(TOKENS);
  if (!t || !t.id_token) return null;
  const claims = claimsOf(t.id_token);
  return {
    name: claims.email || claims["cognito:username"] || claims.sub || "?",
    idToken: t.id_token,
    expiresAt: t.expires_at,
  };
}

export function authHeaders() {
  const auth = current();
  return auth ? { Authorization: auth.idToken } : {};
}

function keep(body, previous = {}) {
  if (!body.id_token) throw new Error("sign-in failed: the token endpoint sent no id_token");
  const tokens = {
    id_token: body.id_token,
    access_token: body.access_token,
    // A refresh answer has no refresh_token: the one we hold stays valid.
    refresh_token: body.refresh_token || previous.refresh_token || null,
    expires_at: Date.now() + 1000 * Number(body.expires_in || 3600),
  };
  sessionStorage.setItem(TOKENS, JSON.stringify(tokens));
  return tokens;
}

async function tokenRequest(auth, fields) {
  const r = await fetch(auth.token_url, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ client_id: auth.client_id, ...fields }),
  });
  const body = await r.json().catch(() => ({}));
  if (!r.ok) {
    throw Object.assign(new Error(`sign-in failed: ${body.error || `HTTP ${r.status}`}`), {
      refused: r.status >= 400 && r.status < 500,
    });
  }
  return body;
}

/** Leaves for the sign-in page; the browser comes back to auth.redirect_uri. */
export async function signIn(config) {
  const auth = config.auth;
  if (!auth) throw new Error("this deployment has no sign-in (config.json names no auth)");
  const verifier = randomString(48);
  const state = randomString(16);
  sessionStorage.setItem(PENDING, JSON.stringify({ state, verifier, hash: location.hash }));
  const url = new URL(auth.authorize_url);
  url.search = new URLSearchParams({
    response_type: "code",
    client_id: auth.client_id,
    redirect_uri: redirectUri(auth),
    scope: auth.scopes,
    state,
    code_challenge: await s256(verifier),
    code_challenge_method: "S256",
  });
  location.assign(url.href);
}

/**
 * On start: when the page is the redirect back from signing in (?code&state, or ?error),
 * finishes it: checks state (a code this tab did not ask for is refused: that is the
 * CSRF defence), trades the code and verifier for tokens, and drops the query from the
 * address. True when it signed in; throws with the reason when the redirect was bad.
 */
export async function completeSignIn(config) {
  const params = new URLSearchParams(location.search);
  if (!params.has("code") && !params.has("error")) return false;
  const pending = read(PENDING);
  sessionStorage.removeItem(PENDING);
  const clean = (pending && pending.hash) || "";
  history.replaceState(null, "", location.pathname + clean);
  if (params.has("error")) {
    throw new Error(`sign-in failed: ${params.get("error_description") || params.get("error")}`);
  }
  if (!pending || !config.auth || params.get("state") !== pending.state) {
    throw new Error("sign-in failed: the answer does not match a sign-in started here");
  }
  keep(await tokenRequest(config.auth, {
    grant_type: "authorization_code",
    code: params.get("code"),
    redirect_uri: redirectUri(config.auth),
    code_verifier: pending.verifier,
  }));
  return true;
}

/** Uses the refresh token for new ID and access tokens. False when there is none or
 * the pool refused it (expired, revoked): the user must sign in again. Calls that find
 * the token stale at the same moment share one refresh. */
let renewing = null;

export function renew(config) {
  renewing ||= refresh(config).finally(() => { renewing = null; });
  return renewing;
}

async function refresh(config) {
  const held = read(TOKENS);
  if (!held || !held.refresh_token || !config.auth) return false;
  try {
    keep(await tokenRequest(config.auth, {
      grant_type: "refresh_token",
      refresh_token: held.refresh_token,
    }), held);
    return true;
  } catch (e) {
    // A network error keeps the tokens (the next call tries again); a refusal ends them.
    if (e.refused) {
      sessionStorage.removeItem(TOKENS);
      // The header still says "Signed in as": main.js listens and shows "Sign in" again.
      window.dispatchEvent(new Event("lumiere:signed-out"));
    }
    return false;
  }
}

/** Before an API call: a token about to expire is refreshed first, so calls never
 * carry one that lapses in flight. */
export async function fresh(config) {
  const auth = current();
  if (auth && auth.expiresAt - EARLY_MS < Date.now()) await renew(config);
}

/** Forgets the tokens, then ends the managed-login session and comes back signed out. */
export function signOut(config) {
  sessionStorage.removeItem(TOKENS);
  const auth = config.auth;
  if (!auth || !auth.logout_url) return;
  const url = new URL(auth.logout_url);
  url.search = new URLSearchParams({ client_id: auth.client_id, logout_uri: redirectUri(auth) });
  location.assign(url.href);
}
