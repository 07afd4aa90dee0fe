// Entry point: reads /config.json, finishes a sign-in redirect if this is one, wires
// sign-in, and routes #/ (library) and #/assets/{id} (one asset).
import { loadConfig } from "./api.js";
import { completeSignIn, current, signIn, signOut } from "./auth.js";
import { leaveAsset, showAsset } from "./asset.js";
import { setUpDropZone, setUpImport, setUpSearch, showLibrary } from "./library.js";

function showAuth(config) {
  const auth = current();
  document.getElementById("signed-out").hidden = Boolean(auth) || !config.auth;
  document.getElementById("signed-in").hidden = !auth;
  if (auth) document.getElementById("signed-in-as").textContent = `Signed in as ${auth.name}`;
}

function showAuthError(message) {
  const error = document.getElementById("auth-error");
  error.textContent = message;
  error.hidden = !message;
}

function route() {
  const m = /^#\/assets\/([0-9a-f]+)/.exec(location.hash);
  const library = document.getElementById("library-view");
  const assetView = document.getElementById("asset-view");
  if (m) {
    library.hidden = true;
    assetView.hidden = false;
    showLibrary(false);
    showAsset(assetView, m[1]);
  } else {
    leaveAsset();
    assetView.hidden = true;
    library.hidden = false;
    showLibrary(true);
  }
}

async function start() {
  const config = await loadConfig();
  window.lumiere = window.lumiere || {};
  window.lumiere.config = config;
  try {
    await completeSignIn(config);
  } catch (e) {
    showAuthError(e.message);
  }
  document.getElementById("sign-in").addEventListener("click", () => {
    signIn(config).catch((e) => showAuthError(e.message));
  });
  document.getElementById("sign-out").addEventListener("click", () => {
    signOut(config);
    showAuth(config);
    route();
  });
  window.addEventListener("lumiere:signed-out", () => showAuth(config));
  showAuth(config);
  setUpDropZone();
  setUpImport();
  setUpSearch();
  window.addEventListener("hashchange", route);
  route();
  window.lumiere.started = true;
}

start().catch((e) => {
  document.getElementById("main").prepend(Object.assign(document.createElement("p"), {
    className: "error", role: "alert", textContent: `Lumiere could not start: ${e.message}`,
  }));
});
