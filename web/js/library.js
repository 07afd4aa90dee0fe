// The list of assets, refreshed every 1.5 s while anything is uploading or processing,
// and the drop zone: one or many files, each with a real byte progress bar.
import { FINAL, listAssets, uploadFile } from "./api.js";
import { displayName, el, formatBytes, formatDate } from "./util.js";

const POLL_MS = 1500;
let timer = null;
let uploading = 0;
let visible = false;

function row(a) {
  const thumb = a.poster_url
    ? el("img", { class: "thumb", src: a.poster_url, alt: "", loading: "lazy" })
    : el("div", { class: "thumb" });
  const progress = FINAL.has(a.status)
    ? (a.status === "READY" ? "" : "—")
    : el("progress", { max: "100", value: String(a.progress || 0), "aria-label": `${displayName(a)} processing` });
  return el("tr", { "data-asset-id": a.asset_id, "data-status": a.status },
    el("td", {}, thumb),
    el("td", {}, el("a", { href: `#/assets/${a.asset_id}`, title: a.filename }, displayName(a))),
    el("td", {}, a.kind || ""),
    el("td", {}, el("span", { class: `status status-${a.status}` }, a.status)),
    el("td", {}, progress, FINAL.has(a.status) ? "" : ` ${a.progress || 0}%`),
    el("td", {}, formatDate(a.created_at)));
}

export async function refresh() {
  clearTimeout(timer);
  const error = document.getElementById("list-error");
  let busy = uploading > 0;
  try {
    const page = await listAssets({ limit: 50 });
    const items = page.items || [];
    document.querySelector("#assets tbody").replaceChildren(...items.map(row));
    document.getElementById("empty").hidden = items.length > 0;
    error.hidden = true;
    busy = busy || items.some((a) => !FINAL.has(a.status));
  } catch (e) {
    const signedOut = e.status === 401;
    error.textContent = signedOut ? "Sign in to see your media." : `Could not load your media: ${e.message}`;
    error.hidden = false;
    busy = !signedOut; // try again, unless only signing in can help
  }
  if (busy && visible) timer = setTimeout(refresh, POLL_MS);
}

export function showLibrary(show) {
  visible = show;
  if (show) refresh();
  else clearTimeout(timer);
}

async function uploadOne(file) {
  const bar = el("progress", { max: String(file.size || 1), value: "0", "aria-label": `Uploading ${file.name}` });
  const note = el("span", { class: "upload-note" }, "starting…");
  const item = el("li", { "data-file": file.name }, el("span", {}, file.name), bar, note);
  document.getElementById("uploads").append(item);
  uploading++;
  // What the bar shows, kept for the browser tests: every progress event's byte count.
  window.lumiere.uploads = window.lumiere.uploads || {};
  const seen = (window.lumiere.uploads[file.name] = { events: [], total: file.size, done: false });
  try {
    seen.assetId = await uploadFile(file, (loaded, total) => {
      seen.events.push(loaded);
      bar.max = total;
      bar.value = loaded;
      note.textContent = `${Math.round((100 * loaded) / total)}% of ${formatBytes(total)}`;
    });
    note.textContent = "uploaded";
    seen.done = true;
    item.dataset.done = "true";
    setTimeout(() => item.remove(), 4000);
  } catch (e) {
    note.textContent = e.message;
    note.className = "error";
    item.dataset.failed = "true";
    seen.error = e.message;
  } finally {
    uploading--;
    refresh();
  }
}

export function uploadFiles(files) {
  const list = [...files];
  if (!list.length) return;
  for (const f of list) uploadOne(f);
  refresh();
}

export function setUpDropZone() {
  const zone = document.getElementById("drop-zone");
  const input = document.getElementById("file-input");
  // The label opens the chooser itself; a second click() would open it twice.
  zone.addEventListener("click", (e) => { if (!e.target.closest("label, input")) input.click(); });
  zone.addEventListener("keydown", (e) => {
    if (e.key === "Enter" || e.key === " ") { e.preventDefault(); input.click(); }
  });
  input.addEventListener("change", () => { uploadFiles(input.files); input.value = ""; });
  for (const type of ["dragenter", "dragover"]) {
    zone.addEventListener(type, (e) => { e.preventDefault(); zone.classList.add("over"); });
  }
  for (const type of ["dragleave", "drop"]) {
    zone.addEventListener(type, () => zone.classList.remove("over"));
  }
  zone.addEventListener("drop", (e) => { e.preventDefault(); uploadFiles(e.dataTransfer.files); });
}
