// The list of assets, refreshed every 1.5 s while anything is uploading or processing,
// the search box (GET /assets?q=, as you type), the drop zone (one or many files, each
// with a real byte progress bar) and the link form (an import from a URL).
import { FINAL, importUrl, listAssets, uploadFile } from "./api.js";
import { displayName, el, formatBytes, formatDate, formatTime } from "./util.js";

const POLL_MS = 1500;
const PAGE = 50;
let timer = null;
let uploading = 0;
let visible = false;
let pages = 1; // how many pages "More" has asked for; the list redraws them all

/** What the progress column says: an import's bytes while its file arrives, else the
 * processing percentage. */
function progressCell(a) {
  if (a.status === "READY") return [""];
  if (FINAL.has(a.status)) return ["—"];
  const fetched = a.status === "CREATED" ? a.import_progress : null;
  if (fetched) {
    const bar = el("progress", { "aria-label": `${displayName(a)} importing` });
    if (fetched.total) {
      bar.max = fetched.total;
      bar.value = fetched.received;
    }
    const of = fetched.total ? ` of ${formatBytes(fetched.total)}` : "";
    return [bar, el("span", { class: "import-note" }, ` ${formatBytes(fetched.received)}${of}`)];
  }
  const bar = el("progress", { max: "100", value: String(a.progress || 0), "aria-label": `${displayName(a)} processing` });
  return [bar, ` ${a.progress || 0}%`];
}

function row(a) {
  const thumb = a.poster_url
    ? el("img", { class: "thumb", src: a.poster_url, alt: "", loading: "lazy" })
    : el("div", { class: "thumb" });
  return el("tr", { "data-asset-id": a.asset_id, "data-status": a.status },
    el("td", {}, thumb),
    el("td", {}, el("a", { href: `#/assets/${a.asset_id}`, title: a.filename }, displayName(a))),
    el("td", {}, a.kind || "", a.duration ? el("span", { class: "duration" }, ` · ${formatTime(a.duration)}`) : null),
    el("td", {}, el("span", { class: `status status-${a.status}` }, a.status)),
    el("td", {}, ...progressCell(a)),
    el("td", {}, formatDate(a.created_at)));
}

let latest = 0; // the newest refresh: an older one's answer (an earlier query) is dropped

export async function refresh() {
  clearTimeout(timer);
  const mine = ++latest;
  const error = document.getElementById("list-error");
  let busy = uploading > 0;
  try {
    const q = document.getElementById("search").value.trim();
    const items = [];
    let cursor = null;
    // A search may answer a short page with a cursor (it stops reading after a while):
    // "More" asks for the next one.
    for (let n = 0; n < pages; n++) {
      const page = await listAssets({ limit: PAGE, ...(q && { q }), ...(cursor && { cursor }) });
      if (mine !== latest) return;
      items.push(...(page.items || []));
      cursor = page.next_cursor;
      if (!cursor) break;
    }
    document.querySelector("#assets tbody").replaceChildren(...items.map(row));
    const empty = document.getElementById("empty");
    empty.textContent = q ? `Nothing matches “${q}”.` : "Nothing here yet: upload something.";
    empty.hidden = items.length > 0 || Boolean(cursor);
    document.getElementById("more").hidden = !cursor;
    error.hidden = true;
    busy = busy || items.some((a) => !FINAL.has(a.status));
  } catch (e) {
    if (mine !== latest) return;
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

/** The link form: the asset appears in the list (CREATED while the file is fetched) and
 * is followed like an upload; a refusal is said under the form, the link kept to fix. */
export function setUpImport() {
  const form = document.getElementById("import-form");
  const input = document.getElementById("import-url");
  const error = document.getElementById("import-error");
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    error.hidden = true;
    const button = document.getElementById("import-go");
    button.disabled = true;
    try {
      await importUrl(input.value.trim());
      input.value = "";
    } catch (err) {
      error.textContent = `Could not import: ${err.message}`;
      error.hidden = false;
    } finally {
      button.disabled = false;
      refresh();
    }
  });
}

export function setUpSearch() {
  const input = document.getElementById("search");
  let typing = null;
  const search = () => { pages = 1; refresh(); };
  input.addEventListener("input", () => { clearTimeout(typing); typing = setTimeout(search, 250); });
  document.getElementById("search-form").addEventListener("submit", (e) => {
    e.preventDefault();
    clearTimeout(typing);
    search();
  });
  document.getElementById("more").addEventListener("click", () => { pages++; refresh(); });
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
