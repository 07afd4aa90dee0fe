// Entry point: reads /config.json, wires sign-in, and routes #/ (library) and
// #/assets/{id} (one asset).
import { loadConfig } from "./api.js";
import { current, signIn, signOut } from "./auth.js";
import { leaveAsset, showAsset } from "./asset.js";
import { setUpDropZone, showLibrary } from "./library.js";

function showAuth() {
  const auth = current();
  document.getElementById("sign-in").hidden = Boolean(auth);
  document.getElementById("signed-in").hidden = !auth;
  if (auth) {
    document.getElementById("signed-in-as").textContent =
      `Signed in as ${auth.name}${auth.token ? "" : " (no token: the API will ask for one)"}`;
  }
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
  document.getElementById("sign-in").addEventListener("submit", async (e) => {
    e.preventDefault();
    const name = new FormData(e.target).get("name").trim();
    if (!name) return;
    await signIn(config, name);
    showAuth();
    route();
  });
  document.getElementById("sign-out").addEventListener("click", () => {
    signOut();
    showAuth();
    route();
  });
  showAuth();
  setUpDropZone();
  window.addEventListener("hashchange", route);
  route();
  window.lumiere.started = true;
}

start().catch((e) => {
  document.getElementById("main").prepend(Object.assign(document.createElement("p"), {
    className: "error", role: "alert", textContent: `Lumiere could not start: ${e.message}`,
  }));
});
