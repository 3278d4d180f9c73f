// Small DOM helpers shared by the views: elements, safe snippets, short paths, thumbnails and file cards.

export const $ = (sel) => document.querySelector(sel);

export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v == null || v === false) continue;
    if (k === "class") e.className = v; else if (k === "text") e.textContent = v; else e.setAttribute(k, v);
  }
  for (const c of children) if (c != null && c !== "") e.append(c);
  return e;
}

// The server's snippets mark hits with <b>; rebuild them from text nodes and <b> only, never as raw HTML.
export function safeSnippet(html) {
  const out = el("p", { class: "snippet" });
  const doc = new DOMParser().parseFromString(`<div>${html || ""}</div>`, "text/html");
  for (const node of doc.body.firstChild.childNodes) {
    if (node.nodeType === Node.TEXT_NODE) out.append(node.textContent);
    else if (node.nodeName === "B") out.append(el("b", { text: node.textContent }));
    else out.append(node.textContent || "");
  }
  return out;
}

// Marks the query's words in a passage (text nodes and <mark> only).
export function highlight(text, words) {
  const p = el("p");
  if (!words.length) { p.textContent = text; return p; }
  const re = new RegExp(`\\b(${words.map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|")})`, "gi");
  let last = 0;
  for (const m of text.matchAll(re)) {
    p.append(text.slice(last, m.index), el("mark", { text: m[0] }));
    last = m.index + m[0].length;
  }
  p.append(text.slice(last));
  return p;
}

export function fmtDate(ts) {
  if (!ts) return "";
  const d = new Date(ts * 1000);
  return isNaN(d) ? "" : d.toISOString().slice(0, 10);
}

export function fmtCount(n) { return typeof n === "number" ? n.toLocaleString("en") : String(n ?? ""); }

// "folder/name" of a long path; the whole path goes into the title (shown on hover).
export function shortPath(path) {
  const parts = String(path || "").split("/").filter(Boolean);
  return parts.slice(-2).join("/");
}

export function pathSpan(path, cls = "path") {
  return el("span", { class: cls, title: path || "", text: shortPath(path) });
}

const THUMB_TYPES = new Set(["image", "pdf"]);

// A thumbnail for images and PDFs (made by the server on first use), else a tile with the file's kind; a
// thumbnail that cannot be made falls back to the tile.
export function thumb(f, size = 160) {
  const box = el("span", { class: "thumb", "aria-hidden": "true", "data-type": f.type || "file" });
  const tile = () => el("span", { class: `kind kind-${f.type || "file"}`, text: kindLabel(f) });
  const canThumb = f.thumbnail !== undefined ? f.thumbnail : THUMB_TYPES.has(f.type) && !f.parent_id;
  if (canThumb && f.id) {
    const img = el("img", { src: `/api/documents/${f.id}/thumbnail?size=${size}`, alt: "", loading: "lazy",
                            decoding: "async" });
    img.addEventListener("error", () => img.replaceWith(tile()));
    box.append(img);
  } else box.append(tile());
  return box;
}

function kindLabel(f) {
  const name = String(f.name || (f.path || "").split("/").pop() || "");
  const ext = name.includes(".") ? name.split(".").pop().slice(0, 4) : "";
  return ({ email: "mail", chat: "chat", image: "img" })[f.type] || ext || f.type || "file";
}

// A file as a card (landing page shelves): thumbnail, title, short path, date. ``open`` is called with the file.
export function fileCard(f, open) {
  const b = el("button", { type: "button", class: "card-file", "data-id": f.id },
    thumb(f), el("span", { class: "c-title", text: f.title || f.name || shortPath(f.path) }),
    pathSpan(f.path, "c-path"), f.modified ? el("span", { class: "c-date", text: fmtDate(f.modified) }) : null);
  b.addEventListener("click", () => open(f));
  return el("li", {}, b);
}

// A file as a one-line button (related files, topic examples, duplicates).
export function fileButton(f, open) {
  const b = el("button", { type: "button", class: "link file", title: f.path || "", text: f.title || shortPath(f.path) });
  b.addEventListener("click", () => open(f));
  return b;
}
