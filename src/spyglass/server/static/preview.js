// The preview pane: a document's text (wrapped, query words marked), its picture or player, download link, tags,
// best folder, related files; and the click/open/dwell events that the recommender learns from.

import { api, beforeForget } from "./api.js";
import { $, el, fileButton, fmtDate, highlight, pathSpan } from "./dom.js";

const pv = { opened: null, id: null, type: null, returnFocus: null };

export function logEvent(body) {  // learning from use: best effort, never in the user's way
  api("/api/activity", { method: "POST", body }).catch(() => {});
}

function endDwell() {
  if (pv.opened) {
    logEvent({ kind: "dwell", doc_id: pv.opened.id, dwell_s: Math.min(86400, (Date.now() - pv.opened.at) / 1000) });
    pv.opened = null;
  }
}
beforeForget(endDwell);

export function previewOpen() { return !$("#preview").hidden; }

export async function openPreview(hit, returnFocus = null) {
  endDwell();
  if (hit.searchId) logEvent({ kind: "click", doc_id: hit.id, search_id: hit.searchId, position: hit.position });
  pv.opened = { id: hit.id, at: Date.now() };
  pv.returnFocus = returnFocus || document.activeElement;
  let d;
  try { d = await api(`/api/documents/${hit.id}?passages=80`); }
  catch (e) { $("#summary").textContent = e.message; return; }
  if (!d) return;
  $("#preview").hidden = false;
  $("#preview-title").textContent = d.title || d.name;
  const meta = $("#preview-meta");
  meta.replaceChildren(...[d.type, fmtDate(d.modified), d.author].filter(Boolean).map((t) => el("span", { text: t })),
                       pathSpan(d.path));
  const media = $("#preview-media");
  media.replaceChildren();
  const file = `/api/documents/${d.id}/file`;
  if (d.downloadable) {
    if (d.type === "pdf") media.append(el("iframe", { src: `${file}#page=${hit.page || 1}`, title: "PDF preview" }));
    else if (d.type === "image") media.append(el("img", { src: file, alt: d.title || d.name }));
    else if (d.type === "audio") media.append(el("audio", { src: `${file}#t=${hit.start || 0}`, controls: "" }));
    else if (d.type === "video") media.append(el("video", { src: `${file}#t=${hit.start || 0}`, controls: "", width: "100%" }));
    media.append(el("p", {}, el("a", { href: file, download: d.name, text: "Download original" })));
  }
  const words = $("#q").value.toLowerCase().split(/\W+/).filter((w) => w.length > 1);
  const body = $("#preview-body");
  body.replaceChildren();
  for (const p of d.passages || []) {
    const label = p.label || (p.page ? `page ${p.page}` : "");
    if (label) body.append(el("div", { class: "passage-label", text: label }));
    body.append(highlight(p.text, words));
  }
  $("#preview").scrollTop = 0;
  loadOrganize(d.id, d.type);
  $("#preview-close").focus();
}

export function closePreview() {
  endDwell();
  $("#preview").hidden = true;
  pv.id = null;
  const back = pv.returnFocus;
  pv.returnFocus = null;
  if (back && back.isConnected && back !== document.body) back.focus(); else $("#q").focus();
}

// -- tags, folder, related files and look-alike photos of the previewed document ------------------------------
async function similarPhotos(id) {
  // by what the photos show when a text-image model is configured, else by perceptual hash
  try { return await api(`/api/documents/${id}/similar?limit=5&by=content`); }
  catch (e) { return api(`/api/documents/${id}/similar?limit=5`).catch(() => ({ similar: [] })); }
}

async function loadOrganize(id, type) {
  pv.id = id;
  if (type) pv.type = type;
  const [tags, sugg, where, rel, sim] = await Promise.all([
    api(`/api/documents/${id}/tags`).catch(() => ({ tags: [] })),
    api(`/api/documents/${id}/tag-suggestions`).catch(() => ({ suggestions: [] })),
    api(`/api/documents/${id}/where`).catch(() => ({ suggestions: [] })),
    api(`/api/related/${id}?limit=5`).catch(() => ({ related: [] })),
    pv.type === "image" ? similarPhotos(id) : Promise.resolve({ similar: [] }),
  ]);
  if (pv.id !== id) return;
  const box = $("#preview-tags");
  box.replaceChildren();
  for (const t of ((tags && tags.tags) || []).filter((t) => t.origin !== "rejected")) {
    const rm = el("button", { type: "button", class: "link", "aria-label": `Remove tag ${t.tag}`, text: "✕" });
    rm.addEventListener("click", async () => {
      await api(`/api/documents/${id}/tags/${encodeURIComponent(t.tag)}`, { method: "DELETE" }).catch(() => {});
      loadOrganize(id);
    });
    box.append(el("span", { class: "tag" }, t.tag, rm));
  }
  const sbox = $("#tag-suggestions");
  sbox.replaceChildren();
  for (const s of (sugg && sugg.suggestions) || []) {
    const yes = el("button", { type: "button", class: "link", "aria-label": `Accept tag ${s.tag}`, text: "✓" });
    const no = el("button", { type: "button", class: "link", "aria-label": `Reject tag ${s.tag}`, text: "✕" });
    yes.addEventListener("click", () => tagDoc(id, s.tag, "accepted"));
    no.addEventListener("click", () => tagDoc(id, s.tag, "rejected"));
    sbox.append(el("span", { class: "tag suggested", title: (s.reasons || []).join("; ") }, `${s.tag}?`, yes, no));
  }
  const best = where && where.suggestions && where.suggestions[0];
  $("#preview-where").textContent = best && best.folder !== where.current
    ? `Fits best in ${best.folder} (${Math.round(best.confidence * 100)}%)` : "";
  const relBox = $("#preview-related");
  relBox.replaceChildren();
  const open = (f) => openPreview({ id: f.id });
  const related = (rel && rel.related) || [];
  const similar = (sim && sim.similar) || [];
  if (related.length) relBox.append(el("h3", { text: "Related" }), ...related.map((r) => fileButton(r, open)));
  if (similar.length) {
    relBox.append(el("h3", { text: "Look-alike photos" }),
      ...similar.map((r) => fileButton({ id: r.id, path: r.path, title: r.path.split("/").pop() }, open)));
  }
}

async function tagDoc(id, tag, origin) {
  try { await api(`/api/documents/${id}/tags`, { method: "POST", body: { tag, origin } }); }
  catch (e) { $("#preview-where").textContent = e.message; return; }
  loadOrganize(id);
}

export function initPreview() {
  $("#preview-close").addEventListener("click", closePreview);
  $("#tag-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const tag = $("#tag-input").value.trim();
    if (tag && pv.id) { $("#tag-input").value = ""; tagDoc(pv.id, tag, "user"); }
  });
}
