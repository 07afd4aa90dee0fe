// The asset page: the player (video/audio), or the image with its responsive variants and
// placeholder; the probe summary; analysis results with faces drawn over the poster.
import { thumbHashToDataURL } from "../vendor/thumbhash.js";
import {
  FINAL, apiImage, apiUrl, deleteAsset, getAsset, getOriginal, setPosterTime, setVisibility,
  updateAsset,
} from "./api.js";
import { createPlayer, destroyPlayer } from "./player.js";
import { displayName, el, formatBytes, formatDate, formatTime } from "./util.js";

let timer = null;
let blobs = [];

export function leaveAsset() {
  clearTimeout(timer);
  timer = null;
  destroyPlayer();
  for (const url of blobs) URL.revokeObjectURL(url);
  blobs = [];
}

/** The API's ready-made on-the-fly thumbnail: a public asset's link (GET /public/img/...)
 * straight in the <img>, as any page could embed it; otherwise GET /img/... with the token,
 * loaded through a blob: URL. */
function thumbnailFigure(outputs, filename) {
  const img = el("img", { id: "thumbnail", alt: `${filename} thumbnail`, width: "160" });
  const caption = el("figcaption", {}, "On-the-fly thumbnail (/img/, 320×320 cover)");
  if (outputs.public_thumbnail) {
    img.src = apiUrl(outputs.public_thumbnail);
    caption.textContent = "On-the-fly thumbnail (/public/img/, 320×320 cover): embeddable anywhere";
  } else {
    apiImage(outputs.thumbnail)
      .then((url) => { blobs.push(url); img.src = url; })
      .catch((e) => { caption.textContent = `Thumbnail: ${e.message}`; caption.className = "error"; });
  }
  return el("figure", { class: "thumbnail" }, img, caption);
}

/** "Use this frame as poster": the moment on screen becomes the video's poster (and what
 * its thumbnail shows); "Automatic poster" goes back to the pipeline's pick. */
function posterControls(container, asset, video) {
  const chosen = asset.poster_time !== undefined && asset.poster_time !== null;
  const status = el("span", { id: "poster-status", role: "status" },
    chosen ? ` Poster: the frame at ${asset.poster_time.toFixed(2)} s` : " Poster: chosen automatically");
  const choose = async (seconds) => {
    status.textContent = " Saving…";
    try {
      await setPosterTime(asset.asset_id, seconds);
      await showAsset(container, asset.asset_id);
    } catch (e) {
      status.textContent = ` ${e.message}`;
      status.className = "error";
    }
  };
  return el("p", { class: "poster-controls" },
    el("button", { type: "button", id: "set-poster", onclick: () => choose(Math.round(video.currentTime * 1000) / 1000) },
      "Use this frame as poster"),
    " ",
    el("button", { type: "button", id: "auto-poster", onclick: () => choose(null), hidden: !chosen },
      "Automatic poster"),
    status);
}

/** The title, and "Rename": a form in its place (an empty title goes back to the file's
 * name). While it is open the page is not redrawn under it (see showAsset). */
function titleBlock(container, asset) {
  const heading = el("h1", { id: "asset-title" }, displayName(asset));
  const block = el("div", { class: "title-block" }, heading);
  const input = el("input", {
    id: "title-input", name: "title", maxlength: "512", value: asset.title || "",
    placeholder: asset.filename, "aria-label": "Title",
  });
  const note = el("span", { id: "title-status", role: "status" });
  const form = el("form", { id: "rename-form", hidden: true, onsubmit: async (e) => {
    e.preventDefault();
    note.textContent = " Saving…";
    try {
      await updateAsset(asset.asset_id, { title: input.value.trim() || null });
      form.hidden = true;
      await showAsset(container, asset.asset_id);
    } catch (err) {
      note.textContent = ` ${err.message}`;
      note.className = "error";
    }
  } },
  input, " ", el("button", { type: "submit", id: "title-save" }, "Save"), " ",
  el("button", { type: "button", onclick: () => { form.hidden = true; heading.hidden = false; } }, "Cancel"),
  note);
  const rename = el("button", { type: "button", id: "rename", onclick: () => {
    heading.hidden = true;
    form.hidden = false;
    input.focus();
  } }, "Rename");
  block.append(form, el("p", { class: "file-name" },
    asset.title ? `File: ${asset.filename} ` : "", rename));
  return block;
}

function dl(rows) {
  return el("dl", { class: "meta" }, rows.filter(([, v]) => v !== null && v !== undefined && v !== "")
    .flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
}

function probeSection(probe) {
  if (!probe) return null;
  const v = probe.video, a = probe.audio, img = probe.image;
  const rows = [
    ["Container", probe.format],
    ["Duration", probe.duration ? `${formatTime(probe.duration)} (${probe.duration.toFixed(2)} s)` : null],
    ["Size", formatBytes(probe.size)],
    ["Bit rate", probe.bit_rate ? `${Math.round(probe.bit_rate / 1000)} kbps` : null],
  ];
  if (img) {
    rows.push(["Image", `${img.format} ${img.width}×${img.height} ${img.mode || ""}`]);
    if (img.camera) rows.push(["Camera", typeof img.camera === "string" ? img.camera : JSON.stringify(img.camera)]);
  } else if (v) {
    rows.push(["Video", `${v.codec} ${v.profile || ""} ${v.width}×${v.height} @ ${v.frame_rate} fps`]);
    if (v.hdr) rows.push(["HDR", v.hdr]);
    if (v.rotation) rows.push(["Rotation", `${v.rotation}°`]);
  }
  if (a) rows.push(["Audio", `${a.codec} ${a.channel_layout || a.channels + " ch"} ${a.sample_rate} Hz ${a.language || ""}`]);
  return el("section", { "aria-labelledby": "probe-title" }, el("h2", { id: "probe-title" }, "Metadata"), dl(rows));
}

function facesOver(imageUrl, faces, alt) {
  const frame = el("div", { class: "faces", id: "faces" }, el("img", { src: imageUrl, alt }));
  for (const f of faces) {
    const box = el("div", {
      class: "face-box",
      style: `left:${f.x * 100}%;top:${f.y * 100}%;width:${f.w * 100}%;height:${f.h * 100}%`,
      title: f.time !== null && f.time !== undefined ? `face at ${f.time.toFixed(1)} s` : "face",
    });
    if (f.time !== null && f.time !== undefined) box.append(el("span", {}, `${f.time.toFixed(1)} s`));
    frame.append(box);
  }
  return frame;
}

function analysisSection(asset) {
  const analysis = (asset.outputs || {}).analysis;
  if (!analysis) return null;
  const steps = Object.entries(analysis.steps || {}).map(([name, s]) =>
    el("li", {}, `${name}: ${s.status}`, s.message ? ` — ${s.message}` : ""));
  const section = el("section", { "aria-labelledby": "analysis-title", id: "analysis" },
    el("h2", { id: "analysis-title" }, "Analysis"), el("ul", {}, steps));
  const rows = [["Faces", String(analysis.face_count ?? (analysis.faces || []).length)]];
  if (analysis.audio) {
    const au = analysis.audio;
    rows.push(["Loudness", au.integrated_lufs !== undefined ? `${au.integrated_lufs} LUFS` : null]);
    rows.push(["Speech", au.speech_likely === undefined ? null : au.speech_likely ? "likely" : "unlikely"]);
  }
  if (analysis.captions) rows.push(["Captions", `${analysis.captions.cues} cues (${analysis.captions.backend})`]);
  section.append(dl(rows));
  const poster = asset.outputs.poster && asset.outputs.poster.url;
  const faces = analysis.faces || [];
  const still = asset.kind === "image" ? largestVariant(asset)?.url || poster : poster;
  if (still && faces.length) section.append(facesOver(still, faces, `${displayName(asset)} with detected faces outlined`));
  if (analysis.document_url) section.append(el("p", {}, el("a", { href: analysis.document_url }, "analysis.json")));
  return section;
}

function largestVariant(asset) {
  const images = (asset.outputs || {}).images;
  if (!images || !images.variants) return null;
  return images.variants.filter((v) => v.format === "jpeg").sort((a, b) => b.width - a.width)[0] || null;
}

function imageSection(asset) {
  const images = asset.outputs.images;
  const byFormat = {};
  for (const v of images.variants || []) (byFormat[v.format] = byFormat[v.format] || []).push(v);
  const srcset = (list) => list.sort((a, b) => a.width - b.width).map((v) => `${v.url} ${v.width}w`).join(", ");
  const sizes = `(max-width: 800px) 100vw, 800px`;
  const picture = el("picture", { id: "picture" });
  for (const [format, type] of [["avif", "image/avif"], ["webp", "image/webp"]]) {
    if (byFormat[format]) picture.append(el("source", { type, srcset: srcset(byFormat[format]), sizes }));
  }
  const fallback = largestVariant(asset);
  const img = el("img", {
    id: "image", alt: displayName(asset), width: images.width, height: images.height,
    srcset: byFormat.jpeg ? srcset(byFormat.jpeg) : null, sizes,
    src: fallback ? fallback.url : asset.outputs.poster?.url, decoding: "async",
  });
  picture.append(img);
  const frame = el("div", { class: "image-frame", id: "image-frame" }, picture);
  // The placeholder shows until the chosen variant has loaded: the dominant colour at
  // once, then the ThumbHash (a blurred 32px sketch of the image) decoded here.
  frame.style.maxWidth = `${Math.min(800, images.width || 800)}px`;
  if (images.dominant_color) frame.style.backgroundColor = images.dominant_color;
  if (images.placeholder) {
    try {
      const bytes = Uint8Array.from(atob(images.placeholder), (c) => c.charCodeAt(0));
      frame.style.backgroundImage = `url("${thumbHashToDataURL(bytes)}")`;
      frame.dataset.placeholder = "thumbhash";
    } catch (e) {
      frame.dataset.placeholder = "invalid";
    }
  }
  img.style.opacity = "0";
  img.style.transition = "opacity .3s";
  const shown = () => { img.style.opacity = "1"; frame.dataset.loaded = img.currentSrc; };
  if (img.complete && img.naturalWidth) shown(); else img.addEventListener("load", shown);
  const list = el("ul", { class: "variants", id: "variants" },
    (images.variants || []).map((v) => el("li", {}, el("a", { href: v.url }, `${v.format} ${v.width}×${v.height}`))));
  return el("section", { "aria-labelledby": "image-title" }, el("h2", { id: "image-title" }, "Image"), frame,
    el("h3", {}, "Variants"), list,
    images.dominant_color ? el("p", {}, "Dominant colour ", el("code", {}, images.dominant_color)) : null);
}

function render(container, asset) {
  const outputs = asset.outputs || {};
  const isPublic = asset.visibility === "public";
  const header = el("div", {},
    el("p", {}, el("a", { href: "#/" }, "← All media")),
    titleBlock(container, asset),
    el("p", {},
      el("span", { class: `status status-${asset.status}`, id: "asset-status" }, asset.status),
      asset.status === "PROCESSING" ? ` ${asset.progress ?? 0}%` : "",
      ` · ${asset.kind || ""} · added ${formatDate(asset.created_at)} `,
      // Public: plain URLs anyone can play; private: signed URLs for the owner only. The
      // page is drawn again, so the player starts over on the new kind of URL.
      el("button", {
        type: "button", id: "visibility", "aria-pressed": String(isPublic),
        title: isPublic ? "Anyone with the link can play it" : "Only you can play it",
        onclick: async () => {
          await setVisibility(asset.asset_id, isPublic ? "private" : "public");
          await showAsset(container, asset.asset_id);
        },
      }, isPublic ? "Public · make private" : "Private · make public"),
      " ",
      // The file as uploaded: the storage's link answers with an attachment, so going to
      // it saves the file and the page stays where it is.
      asset.status === "CREATED" ? null : el("button", {
        type: "button", id: "download-original", title: "The file as you uploaded it",
        onclick: async (e) => {
          try {
            location.assign((await getOriginal(asset.asset_id)).url);
          } catch (err) { // e.g. 409: the upload never arrived (FAILED upload_missing)
            e.target.replaceWith(el("span", { class: "error", role: "alert" }, err.message));
          }
        },
      }, "Download original"),
      " ",
      el("button", { type: "button", id: "delete", onclick: async () => {
        if (!confirm(`Delete ${displayName(asset)}?`)) return;
        await deleteAsset(asset.asset_id);
        location.hash = "#/";
      } }, "Delete")));
  const parts = [header];
  if (asset.status === "FAILED" && asset.error) {
    parts.push(el("p", { class: "error", role: "alert" }, `${asset.error.reason}: ${asset.error.message}`));
  }
  if (!FINAL.has(asset.status)) {
    parts.push(el("progress", { max: "100", value: String(asset.progress || 0), "aria-label": "Processing" }));
  }
  const main = [];
  if (asset.status === "READY" && outputs.hls) {
    const { root, video } = createPlayer(asset);
    main.push(root);
    if (asset.kind === "video") main.push(posterControls(container, asset, video));
  } else if (asset.status === "READY" && outputs.images) {
    main.push(imageSection(asset));
  } else if (outputs.poster) {
    main.push(el("img", { src: outputs.poster.url, alt: `${displayName(asset)} poster`, style: "max-width:480px" }));
  }
  parts.push(...main);
  parts.push(el("div", { class: "columns" }, probeSection(asset.probe), analysisSection(asset)));
  if (outputs.hls) {
    parts.push(el("section", {}, el("h2", {}, "Streams"), dl([
      ["HLS", el("a", { href: outputs.hls.url }, "master.m3u8")],
      ["DASH", outputs.dash ? el("a", { href: outputs.dash.url }, "manifest.mpd")
        : outputs.encryption ? "not published (HLS AES-128 segments need an HLS player)" : null],
      ["Encryption", outputs.encryption ? `HLS ${outputs.encryption.method}` : null],
      ["Renditions", (outputs.hls.renditions || []).map((r) => `${r.name} ${r.width}×${r.height}`).join(", ")],
      ["Captions", (outputs.captions || []).map((c) => c.name).join(", ") || null],
    ])));
  }
  if (outputs.thumbnail) parts.push(thumbnailFigure(outputs, displayName(asset)));
  container.replaceChildren(...parts);
}

export async function showAsset(container, id) {
  leaveAsset();
  container.replaceChildren(el("p", {}, "Loading…"));
  const poll = async () => {
    let asset;
    try {
      asset = await getAsset(id);
    } catch (e) {
      container.replaceChildren(el("p", { class: "error", role: "alert" }, String(e.message)),
        el("p", {}, el("a", { href: "#/" }, "← All media")));
      return;
    }
    const form = document.getElementById("rename-form");
    const renaming = Boolean(form && !form.hidden && container.contains(form));
    // Not redrawn under the owner typing a title: a later poll draws it.
    if (!renaming) render(container, asset);
    // Follow processing live; once final the page stays as it is (the player keeps going).
    if (renaming || !FINAL.has(asset.status)) timer = setTimeout(poll, 1500);
  };
  await poll();
}
