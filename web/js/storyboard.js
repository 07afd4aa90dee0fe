// Storyboard thumbnails: a WebVTT file whose cues name a region of a sprite image,
// "sprite.jpg#xywh=x,y,w,h", resolved against the VTT's own URL. Resolving drops the
// VTT's query, so a signed storyboard's sheets are signed again by the `sign` given.

function seconds(stamp) {
  const parts = stamp.trim().split(":").map(Number);
  return parts.reduce((acc, p) => acc * 60 + p, 0);
}

export function parseStoryboard(text, baseUrl, sign = (url) => url) {
  const cues = [];
  const blocks = text.replace(/\r/g, "").split(/\n\n+/);
  for (const block of blocks) {
    const lines = block.split("\n").filter(Boolean);
    const timing = lines.findIndex((l) => l.includes("-->"));
    if (timing < 0 || !lines[timing + 1]) continue;
    const [start, end] = lines[timing].split("-->").map((s) => seconds(s.split(" ").filter(Boolean)[0]));
    const target = lines[timing + 1].trim();
    const [path, fragment = ""] = target.split("#");
    const m = /xywh=(\d+),(\d+),(\d+),(\d+)/.exec(fragment);
    if (!m) continue;
    const [x, y, w, h] = m.slice(1).map(Number);
    cues.push({ start, end, url: sign(new URL(path, baseUrl).href), x, y, w, h });
  }
  return cues;
}

export async function loadStoryboard(url, sign) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`storyboard: HTTP ${r.status}`);
  return parseStoryboard(await r.text(), url, sign);
}

export function cueAt(cues, t) {
  return cues.find((c) => t >= c.start && t < c.end) || cues[cues.length - 1] || null;
}
