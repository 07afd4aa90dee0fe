// The video player: hls.js (vendored, window.Hls) with our own controls: play/pause, a seek
// bar with storyboard previews, a quality menu (every level and Auto), a captions toggle.
// Its state is on window.lumiere.player so the browser tests can see what a person sees.
//
// Media is served only with a CloudFront signature for the asset's prefix. The playlists
// name renditions and segments by relative URIs, which lose the master's query when
// resolved, and signed cookies cannot reach a CDN on another site than the page; so the
// player asks the API for the signature (GET /assets/{id}/playback) and hls.js adds it to
// every playlist, segment, key and subtitle request (xhrSetup), renewed before it expires.
// An HLS AES-128 key is fetched from the API with the token instead.
import { apiHeadersFor, getPlayback } from "./api.js";
import { displayName, el, formatTime } from "./util.js";
import { loadStoryboard, cueAt } from "./storyboard.js";

let active = null;
const SIGNING_PARAMS = ["Policy", "Signature", "Key-Pair-Id", "Expires"];
const RENEW_BEFORE_MS = 60_000;

/**
 * A function that signs URLs under the playback's resource pattern with its current
 * signed_query (replacing any older signature); other URLs pass unchanged.
 */
export function urlSigner(playback) {
  let prefix = null, query = null;
  const sign = (url) => {
    if (!query || !url.startsWith(prefix)) return url;
    const u = new URL(url);
    for (const name of SIGNING_PARAMS) u.searchParams.delete(name);
    return `${u.origin}${u.pathname}${u.search ? `${u.search}&` : "?"}${query}${u.hash}`;
  };
  sign.update = (p) => {
    query = p.signed_query || null;
    prefix = p.resource ? p.resource.replace(/\*$/, "") : null;
  };
  sign.update(playback);
  return sign;
}

export function destroyPlayer() {
  if (active) active.destroy();
  active = null;
}

function levelLabel(level) {
  const kbps = Math.round((level.bitrate || 0) / 1000);
  return `${level.height}p (${kbps} kbps)`;
}

export function createPlayer(asset) {
  destroyPlayer();
  const outputs = asset.outputs || {};
  const state = {
    hls: null, fatal: false, errors: [], switched: [], levels: [], ready: false,
    subtitleTracks: [], storyboardCues: 0, signed: false, expiresAt: null, renewals: 0,
  };
  let renewTimer = null;
  let destroyed = false;
  window.lumiere = window.lumiere || {};
  window.lumiere.player = state;

  const video = el("video", {
    id: "video", playsinline: true, preload: "metadata", crossorigin: "anonymous",
    poster: outputs.poster ? outputs.poster.url : null, "aria-label": `Video: ${displayName(asset)}`,
  });
  const playBtn = el("button", { type: "button", id: "play", "aria-label": "Play" }, "▶");
  const seek = el("input", {
    type: "range", id: "seek", min: "0", max: "0", step: "0.1", value: "0",
    "aria-label": "Seek", "aria-valuetext": "0:00",
  });
  const preview = el("div", { class: "storyboard-preview", id: "storyboard-preview", hidden: true, "aria-hidden": "true" },
    el("span"));
  const seekWrap = el("div", { class: "seek-wrap" }, seek, preview);
  const time = el("span", { class: "time", id: "time" }, "0:00 / 0:00");
  const ccBtn = el("button", {
    type: "button", id: "captions", "aria-pressed": "false", hidden: true, "aria-label": "Captions",
  }, "CC");
  const qualityBtn = el("button", {
    type: "button", id: "quality", "aria-haspopup": "true", "aria-expanded": "false",
    "aria-controls": "quality-menu",
  }, "Quality: Auto");
  const menu = el("ul", { class: "menu", id: "quality-menu", role: "group", "aria-label": "Quality", hidden: true });
  const controls = el("div", { class: "controls", role: "group", "aria-label": "Player controls" },
    playBtn, seekWrap, time, ccBtn, qualityBtn, menu);
  const root = el("div", { class: "player-block" }, el("div", { class: "player" }, video), controls);

  // ---- play / time
  playBtn.addEventListener("click", () => (video.paused ? video.play() : video.pause()));
  const syncPlay = () => {
    playBtn.textContent = video.paused ? "▶" : "❚❚";
    playBtn.setAttribute("aria-label", video.paused ? "Play" : "Pause");
  };
  video.addEventListener("play", syncPlay);
  video.addEventListener("pause", syncPlay);
  video.addEventListener("loadedmetadata", () => { seek.max = String(video.duration || 0); });
  let seeking = false;
  video.addEventListener("timeupdate", () => {
    time.textContent = `${formatTime(video.currentTime)} / ${formatTime(video.duration)}`;
    if (!seeking) seek.value = String(video.currentTime);
    seek.setAttribute("aria-valuetext", formatTime(video.currentTime));
  });
  seek.addEventListener("input", () => { seeking = true; });
  seek.addEventListener("change", () => { video.currentTime = Number(seek.value); seeking = false; });

  // ---- storyboard previews on hover over the seek bar
  let cues = [];
  const storyboard = outputs.previews && outputs.previews.storyboard;
  const showStoryboard = (sign) => {
    if (!storyboard || !storyboard.url) return;
    loadStoryboard(sign(storyboard.url), sign).then((c) => { cues = c; state.storyboardCues = c.length; })
      .catch((e) => state.errors.push(String(e)));
  };
  seekWrap.addEventListener("pointermove", (e) => {
    const duration = video.duration || (asset.probe && asset.probe.duration) || 0;
    if (!cues.length || !duration) return;
    const rect = seek.getBoundingClientRect();
    const frac = Math.min(1, Math.max(0, (e.clientX - rect.left) / rect.width));
    const t = frac * duration;
    const cue = cueAt(cues, t);
    if (!cue) return;
    Object.assign(preview.style, {
      width: `${cue.w}px`, height: `${cue.h}px`, left: `${frac * rect.width}px`,
      backgroundImage: `url("${cue.url}")`, backgroundPosition: `-${cue.x}px -${cue.y}px`,
    });
    preview.dataset.time = t.toFixed(2);
    preview.querySelector("span").textContent = formatTime(t);
    preview.hidden = false;
  });
  seekWrap.addEventListener("pointerleave", () => { preview.hidden = true; });

  // ---- quality menu
  const setMenuOpen = (open) => {
    menu.hidden = !open;
    qualityBtn.setAttribute("aria-expanded", String(open));
    if (open) (menu.querySelector("input:checked") || menu.querySelector("input"))?.focus();
  };
  qualityBtn.addEventListener("click", () => setMenuOpen(menu.hidden));
  menu.addEventListener("keydown", (e) => { if (e.key === "Escape") { setMenuOpen(false); qualityBtn.focus(); } });

  function buildMenu(hls) {
    menu.replaceChildren();
    const options = [{ index: -1, label: "Auto" }, ...hls.levels.map((l, i) => ({ index: i, label: levelLabel(l) }))]
      .sort((a, b) => (a.index < 0 ? -1 : b.index < 0 ? 1 : hls.levels[b.index].height - hls.levels[a.index].height));
    for (const o of options) {
      const input = el("input", {
        type: "radio", name: "quality", value: String(o.index), "data-level": String(o.index),
        checked: o.index === -1,
      });
      input.addEventListener("change", () => {
        hls.currentLevel = o.index; // -1: automatic selection
        qualityBtn.textContent = `Quality: ${o.label}`;
      });
      menu.append(el("li", {}, el("label", {}, input, o.label)));
    }
  }

  // ---- captions
  ccBtn.addEventListener("click", () => {
    const on = ccBtn.getAttribute("aria-pressed") !== "true";
    ccBtn.setAttribute("aria-pressed", String(on));
    if (state.hls) {
      state.hls.subtitleDisplay = on;
      state.hls.subtitleTrack = on ? 0 : -1;
    }
  });

  // ---- hls.js, once the API has said how to sign the asset's media
  async function start() {
    let playback;
    try {
      playback = await getPlayback(asset.asset_id);
    } catch (e) {
      root.prepend(el("p", { class: "error", role: "alert" }, `Cannot play: ${e.message}`));
      state.fatal = true;
      state.errors.push(String(e));
      return;
    }
    if (destroyed) return;
    const sign = urlSigner(playback);
    state.signed = Boolean(playback.signed_query);
    const scheduleRenewal = (p) => {
      state.expiresAt = p.expires_at || null;
      if (!p.expires_at) return;
      const wait = Math.max(30_000, p.expires_at * 1000 - Date.now() - RENEW_BEFORE_MS);
      renewTimer = setTimeout(async () => {
        try {
          const fresh = await getPlayback(asset.asset_id);
          sign.update(fresh);
          state.renewals += 1;
          scheduleRenewal(fresh);
        } catch (e) {
          state.errors.push(`renewing the playback signature: ${e.message}`);
          renewTimer = setTimeout(() => scheduleRenewal(p), 10_000);
        }
      }, wait);
    };
    scheduleRenewal(playback);
    showStoryboard(sign);
    const hlsUrl = playback.hls;
    if (!hlsUrl) {
      root.prepend(el("p", { class: "error" }, "This asset has no HLS stream."));
    } else if (window.Hls && window.Hls.isSupported()) {
      const Hls = window.Hls;
      const hls = new Hls({
        enableWebVTT: true,
        renderTextTracksNatively: true,
        // Every request hls.js makes (playlists, segments, keys, subtitles) carries the
        // signature; hls.js skips its own open() when this one has opened the request.
        // An encrypted asset's key is on the API, which needs the token.
        xhrSetup: (xhr, url) => {
          xhr.open("GET", sign(url), true);
          for (const [name, value] of Object.entries(apiHeadersFor(url))) {
            xhr.setRequestHeader(name, value);
          }
        },
      });
      state.hls = hls;
      hls.on(Hls.Events.ERROR, (_e, data) => {
        state.errors.push(`${data.type}: ${data.details}${data.fatal ? " (fatal)" : ""}`);
        if (data.fatal) state.fatal = true;
      });
      hls.on(Hls.Events.MANIFEST_PARSED, () => {
        state.levels = hls.levels.map((l) => ({ height: l.height, width: l.width, bitrate: l.bitrate }));
        buildMenu(hls);
        state.ready = true;
      });
      hls.on(Hls.Events.SUBTITLE_TRACKS_UPDATED, (_e, data) => {
        state.subtitleTracks = data.subtitleTracks.map((t) => ({ name: t.name, lang: t.lang }));
        ccBtn.hidden = data.subtitleTracks.length === 0;
        hls.subtitleTrack = -1; // off until asked for
      });
      hls.on(Hls.Events.LEVEL_SWITCHED, (_e, data) => {
        state.switched.push(data.level);
        const level = hls.levels[data.level];
        video.dataset.level = String(data.level);
        if (level) video.dataset.height = String(level.height);
        // In Auto, say which level Auto chose, as players do.
        if (level && hls.autoLevelEnabled) qualityBtn.textContent = `Quality: Auto (${level.height}p)`;
      });
      hls.loadSource(sign(hlsUrl));
      hls.attachMedia(video);
    } else if (video.canPlayType("application/vnd.apple.mpegurl")) {
      // Safari plays HLS itself and cannot add the query to relative URIs: this works
      // only where the signed cookies reach the CDN (same site as the API).
      video.src = sign(hlsUrl);
    } else {
      root.prepend(el("p", { class: "error" }, "This browser cannot play HLS."));
    }
  }
  start();

  active = {
    destroy() {
      destroyed = true;
      clearTimeout(renewTimer);
      if (state.hls) state.hls.destroy();
      video.removeAttribute("src");
    },
  };
  return { root, video };
}
