// The one place the page knows about identity. Signing in means holding a Cognito ID
// token; every API call sends it as `Authorization: <token>`, the raw token API
// Gateway's Cognito authorizer reads (no "Bearer " scheme). Where the stack offers a
// development token endpoint (config.dev_token_url: the local stack's stand-in user
// pool) signing in asks it for a token; otherwise the page only remembers the name.
const KEY = "lumiere.auth";

export function current() {
  try {
    return JSON.parse(localStorage.getItem(KEY)) || null;
  } catch {
    return null;
  }
}

export function authHeaders() {
  const auth = current();
  return auth && auth.token ? { Authorization: auth.token } : {};
}

/** The token in a sign-in response: Cognito's IdToken (InitiateAuth, the local user
 * pool), or an OAuth token endpoint's id_token; access tokens only as a fallback. */
export function tokenOf(body) {
  if (!body || typeof body !== "object") return null;
  const result = body.AuthenticationResult || body;
  return result.IdToken || result.id_token || result.token || result.access_token || null;
}

export async function signIn(config, name) {
  let token = null;
  if (config.dev_token_url) {
    const r = await fetch(config.dev_token_url, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ username: name }),
    });
    if (!r.ok) throw new Error(`sign-in failed: HTTP ${r.status}`);
    token = tokenOf(await r.json());
    if (!token) throw new Error("sign-in failed: the response has no token");
  }
  const auth = { name, token };
  localStorage.setItem(KEY, JSON.stringify(auth));
  return auth;
}

/** After a 401: a token that expired (or came from an earlier run of the local stack,
 * whose key is new each run) is replaced by signing in again as the same name when the
 * development endpoint allows it. True when there is a fresh token to retry with. */
export async function renew(config) {
  const auth = current();
  if (!auth || !auth.token || !config.dev_token_url) return false;
  try {
    await signIn(config, auth.name);
    return true;
  } catch {
    return false;
  }
}

export function signOut() {
  localStorage.removeItem(KEY);
}
