// The one place the page knows about identity. Signing in means holding a token; every
// API call adds it as a bearer token when there is one. Where the stack offers a
// development token endpoint (config.dev_token_url) signing in asks it for a token;
// otherwise the page works anonymously and only remembers the name shown.
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
  return auth && auth.token ? { Authorization: `Bearer ${auth.token}` } : {};
}

export async function signIn(config, name) {
  let token = null;
  if (config.dev_token_url) {
    const r = await fetch(config.dev_token_url, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ username: name, sub: name }),
    });
    if (!r.ok) throw new Error(`sign-in failed: HTTP ${r.status}`);
    const body = await r.json();
    token = body.token || body.access_token || body.id_token || null;
  }
  const auth = { name, token };
  localStorage.setItem(KEY, JSON.stringify(auth));
  return auth;
}

export function signOut() {
  localStorage.removeItem(KEY);
}
