// Spyglass web app: search as you type, autocomplete, facets, preview. No framework, no build step.
"use strict";

const $ = (sel) => document.querySelector(sel);
const state = { csrf: null, user: null, offset: 0, lastKey: null, results: [], selected: -1, filters: {}, seq: 0, sugg: [], suggSel: -1 };

async function api(path, opts = {}) {
  const headers = Object.assign({ "accept": "application/json" }, opts.headers || {});
  if (opts.body !== undefined) headers["content-type"] = "application/json";
  if (state.csrf && opts.method && opts.method !== "GET") headers["x-csrf-token"] = state.csrf;
  const res = await fetch(path, { method: opts.method || "GET", headers, credentials: "same-origin",
                                  body: opts.body === undefined ? undefined : JSON.stringify(opts.body) });
  let data = null;
  try { data = await res.json(); } catch (e) { data = null; }
  if (res.status === 401 && state.user) return forgetAndReload(true);  // the session ended: nothing of it may stay
  if (!res.ok) {
    const err = new Error((data && (typeof data.detail === "string" ? data.detail : JSON.stringify(data.detail))) || res.statusText);
    err.status = res.status;
    throw err;
  }
  return data;
}

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v; else if (k === "text") e.textContent = v; else e.setAttribute(k, v);
  }
  for (const c of children) if (c != null) e.append(c);
  return e;
}

// The server's snippets mark hits with <b>; rebuild them from text nodes and <b> only, never as raw HTML.
function safeSnippet(html) {
  const out = el("p", { class: "snippet" });
  const doc = new DOMParser().parseFromString(`<div>${html}</div>`, "text/html");
  for (const node of doc.body.firstChild.childNodes) {
    if (node.nodeType === Node.TEXT_NODE) out.append(node.textContent);
    else if (node.nodeName === "B") out.append(el("b", { text: node.textContent }));
    else out.append(node.textContent || "");
  }
  return out;
}

function fmtDate(ts) { return ts ? new Date(ts * 1000).toISOString().slice(0, 10) : ""; }

// -- session ---------------------------------------------------------------------------------------------------
async function boot() {
  try {
    const me = await api("/api/me");
    state.user = me.user; state.csrf = me.csrf;
    showApp();
  } catch (e) { showLogin(); }
}

function showLogin() {
  $("#app-view").hidden = true; $("#login-view").hidden = false;
  if (new URLSearchParams(location.search).get("session") === "ended") {
    $("#login-error").textContent = "Your session ended: log in again.";
    history.replaceState(null, "", "/");
  }
  $("#login-user").focus();
}

function showApp() {
  $("#login-view").hidden = true; $("#app-view").hidden = false;
  $("#who").textContent = `${state.user.name} (${state.user.role})`;
  $("#organize-button").hidden = state.user.role !== "admin";  // plans move files: admins review and apply them
  const q = new URLSearchParams(location.search).get("q");  // a link into a search: read once, then dropped
  if (location.search) history.replaceState(null, "", "/");
  if (q) { $("#q").value = q; runSearch(); }
  $("#q").focus();
}

$("#login-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  $("#login-error").textContent = "";
  try {
    const r = await api("/api/login", { method: "POST", body: { user: $("#login-user").value, password: $("#login-password").value } });
    state.user = r.user; state.csrf = r.csrf; $("#login-password").value = "";
    showApp();
  } catch (e) { $("#login-error").textContent = e.message; }
});

// Logging out (or a 401) must leave nothing of this user for the next one: the server drops the session, the
// browser drops this site's HTTP cache and storage (Clear-Site-Data from /api/forget), and a fresh load of "/"
// replaces this page, so no DOM, JS variable, open preview, stream or URL of the session survives. The page never
// puts a query in the URL (browser history cannot be wiped from a page).
let forgetting = null;
function forgetAndReload(ended) {
  if (forgetting) return forgetting;
  state.user = null;
  endDwell();
  if (askSource) askSource.close();
  document.body.replaceChildren();
  forgetting = (async () => {
    try { await fetch("/api/forget", { method: "POST", headers: { "x-spyglass-forget": "1" }, cache: "no-store" }); } catch (e) { /* offline */ }
    try { localStorage.clear(); sessionStorage.clear(); } catch (e) { /* storage disabled */ }
    try { if (window.caches) for (const k of await caches.keys()) await caches.delete(k); } catch (e) { /* no Cache API */ }
    location.replace(ended ? "/?session=ended" : "/");
    return new Promise(() => {});  // callers wait for the reload
  })();
  return forgetting;
}

$("#logout").addEventListener("click", async () => {
  endDwell();
  try { await api("/api/logout", { method: "POST", body: {} }); } catch (e) { /* already gone */ }
  forgetAndReload(false);
});

// -- search ----------------------------------------------------------------------------------------------------
function params(extra = {}) {
  const p = new URLSearchParams({ q: $("#q").value.trim(), limit: "20", facets: "true", ...extra });
  if ($("#mode").value) p.set("mode", $("#mode").value);
  if ($("#after").value) p.set("after", $("#after").value);
  if ($("#before").value) p.set("before", $("#before").value);
  for (const [name, values] of Object.entries(state.filters)) for (const v of values) p.append(name, v);
  return p;
}

let debounce = null;
function scheduleSearch() { clearTimeout(debounce); debounce = setTimeout(() => runSearch(), 180); }

async function runSearch(append = false) {
  $("#view").hidden = true;
  const q = $("#q").value.trim();
  if (!q) {
    $("#results").replaceChildren(); $("#summary").textContent = ""; $("#facets").replaceChildren();
    state.lastKey = null; return;
  }
  const key = params().toString();
  if (!append && key === state.lastKey) return;  // nothing changed: keep the list (and the keyboard position)
  const seq = ++state.seq;
  state.offset = append ? state.offset + 20 : 0;
  let r;
  try { r = await api("/api/search?" + params({ offset: String(state.offset) })); state.lastKey = key; }
  catch (e) {
    if (e.status === 401) return showLogin();
    if (seq === state.seq) $("#summary").textContent = e.message;
    return;
  }
  if (seq !== state.seq) return;  // a newer keystroke won
  state.results = append ? state.results.concat(r.results) : r.results;
  state.results.forEach((h, i) => { if (h.searchId === undefined) { h.searchId = r.search_id; h.position = (append ? state.offset : 0) + i + 1; } });
  $("#summary").textContent = `${r.total} result${r.total === 1 ? "" : "s"} · ${r.mode} · ${r.took_ms} ms` +
    (r.fuzzy.length ? ` · also matched near spellings of ${r.fuzzy.join(", ")}` : "");
  renderResults(append);
  if (!append) renderFacets(r.facets || {});
  $("#more").hidden = state.results.length >= r.total || r.results.length === 0;
}

function renderResults(append) {
  const ol = $("#results");
  if (!append) { ol.replaceChildren(); state.selected = -1; }
  state.results.slice(ol.children.length).forEach((h, i) => {
    const idx = ol.children.length;
    const li = el("li", { id: `r-${idx}`, role: "option", "data-id": h.id, tabindex: "-1" },
      el("div", { class: "r-title", text: h.title }),
      el("div", { class: "meta", text: [h.type, fmtDate(h.modified), h.label || (h.page ? `page ${h.page}` : ""), h.path].filter(Boolean).join(" · ") }),
      safeSnippet(h.snippet));
    li.addEventListener("click", () => { select(idx); openPreview(h); });
    ol.append(li);
  });
}

function renderFacets(facets) {
  const box = $("#facets");
  box.replaceChildren();
  const names = { type: "Type", source: "Source", year: "Year", folder: "Folder", topic: "Topic" };
  const shown = (key, v) => key === "folder" ? v.split("/").pop() : key === "topic" ? `topic ${v}` : v;
  for (const [key, rows] of Object.entries(facets)) {
    if (!rows.length) continue;
    const div = el("div", { class: "facet" }, el("h3", { text: names[key] || key }));
    for (const row of rows) {
      const id = `f-${key}-${row.value}`;
      const cb = el("input", { type: "checkbox", id });
      const param = key === "year" ? null : key;
      cb.checked = param ? (state.filters[param] || []).includes(row.value) : false;
      cb.addEventListener("change", () => {
        if (key === "year") {
          $("#after").value = cb.checked ? `${row.value}-01-01` : "";
          $("#before").value = cb.checked ? `${Number(row.value) + 1}-01-01` : "";
        } else {
          const cur = new Set(state.filters[param] || []);
          cb.checked ? cur.add(row.value) : cur.delete(row.value);
          state.filters[param] = [...cur];
        }
        runSearch();
      });
      div.append(el("label", { for: id, title: row.value }, cb, el("span", { text: shown(key, row.value) }), el("span", { class: "n", text: String(row.count) })));
    }
    box.append(div);
  }
}

function select(i) {
  const items = $("#results").children;
  if (!items.length) return;
  i = Math.max(0, Math.min(items.length - 1, i));
  if (state.selected >= 0 && items[state.selected]) items[state.selected].setAttribute("aria-selected", "false");
  state.selected = i;
  items[i].setAttribute("aria-selected", "true");
  items[i].focus();
  items[i].scrollIntoView({ block: "nearest" });
}

// -- preview ---------------------------------------------------------------------------------------------------
function logEvent(body) {  // learning from use: best effort, never in the user's way
  api("/api/activity", { method: "POST", body }).catch(() => {});
}

function endDwell() {
  if (state.opened) {
    logEvent({ kind: "dwell", doc_id: state.opened.id, dwell_s: Math.min(86400, (Date.now() - state.opened.at) / 1000) });
    state.opened = null;
  }
}

async function openPreview(hit) {
  endDwell();
  if (hit.searchId) logEvent({ kind: "click", doc_id: hit.id, search_id: hit.searchId, position: hit.position });
  state.opened = { id: hit.id, at: Date.now() };
  let d;
  try { d = await api(`/api/documents/${hit.id}?passages=80`); } catch (e) { $("#summary").textContent = e.message; return; }
  $("#preview").hidden = false;
  $("#preview-title").textContent = d.title || d.name;
  $("#preview-meta").textContent = [d.type, fmtDate(d.modified), d.author, d.path].filter(Boolean).join(" · ");
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
  for (const p of d.passages) {
    const label = p.label || (p.page ? `page ${p.page}` : "");
    if (label) body.append(el("div", { class: "passage-label", text: label }));
    body.append(highlight(p.text, words));
  }
  loadOrganize(d.id, d.type);
  $("#preview-close").focus();
}

// -- tags and folder of the previewed document -----------------------------------------------------------------
async function similarPhotos(id) {
  // by what the photos show when a text-image model is configured, else by perceptual hash
  try { return await api(`/api/documents/${id}/similar?limit=5&by=content`); }
  catch (e) { return api(`/api/documents/${id}/similar?limit=5`).catch(() => ({ similar: [] })); }
}

async function loadOrganize(id, type) {
  state.previewId = id;
  if (type) state.previewType = type;
  const [tags, sugg, where, rel, sim] = await Promise.all([
    api(`/api/documents/${id}/tags`).catch(() => ({ tags: [] })),
    api(`/api/documents/${id}/tag-suggestions`).catch(() => ({ suggestions: [] })),
    api(`/api/documents/${id}/where`).catch(() => ({ suggestions: [] })),
    api(`/api/related/${id}?limit=5`).catch(() => ({ related: [] })),
    state.previewType === "image" ? similarPhotos(id) : Promise.resolve({ similar: [] }),
  ]);
  if (state.previewId !== id) return;
  const box = $("#preview-tags");
  box.replaceChildren();
  for (const t of tags.tags.filter((t) => t.origin !== "rejected")) {
    const rm = el("button", { type: "button", class: "link", "aria-label": `Remove tag ${t.tag}`, text: "✕" });
    rm.addEventListener("click", async () => {
      await api(`/api/documents/${id}/tags/${encodeURIComponent(t.tag)}`, { method: "DELETE" }).catch(() => {});
      loadOrganize(id);
    });
    box.append(el("span", { class: "tag" }, t.tag, rm));
  }
  const sbox = $("#tag-suggestions");
  sbox.replaceChildren();
  for (const s of sugg.suggestions) {
    const yes = el("button", { type: "button", class: "link", "aria-label": `Accept tag ${s.tag}`, text: "✓" });
    const no = el("button", { type: "button", class: "link", "aria-label": `Reject tag ${s.tag}`, text: "✕" });
    yes.addEventListener("click", () => tagDoc(id, s.tag, "accepted"));
    no.addEventListener("click", () => tagDoc(id, s.tag, "rejected"));
    sbox.append(el("span", { class: "tag suggested", title: s.reasons.join("; ") }, `${s.tag}?`, yes, no));
  }
  const best = where.suggestions[0];
  $("#preview-where").textContent = best && best.folder !== where.current
    ? `Fits best in ${best.folder} (${Math.round(best.confidence * 100)}%)` : "";
  const relBox = $("#preview-related");
  relBox.replaceChildren();
  if (rel.related.length) relBox.append(el("h3", { text: "Related" }), ...rel.related.map((r) => fileButton(r)));
  if (sim.similar.length) {
    relBox.append(el("h3", { text: "Look-alike photos" }),
      ...sim.similar.map((r) => fileButton({ id: r.id, path: r.path, title: r.path.split("/").pop() })));
  }
}

async function tagDoc(id, tag, origin) {
  try { await api(`/api/documents/${id}/tags`, { method: "POST", body: { tag, origin } }); }
  catch (e) { $("#preview-where").textContent = e.message; return; }
  loadOrganize(id);
}

$("#tag-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const tag = $("#tag-input").value.trim();
  if (tag && state.previewId) { $("#tag-input").value = ""; tagDoc(state.previewId, tag, "user"); }
});

// -- topics and duplicates views -------------------------------------------------------------------------------
function showView(title, ...children) {
  $("#results").replaceChildren();
  $("#more").hidden = true;
  $("#summary").textContent = "";
  state.lastKey = null;  // the results are gone: the same query must search again
  state.results = []; state.selected = -1;
  const view = $("#view");
  view.hidden = false;
  view.replaceChildren(el("h2", { text: title }), ...children);
  const first = view.querySelector("button, a");
  if (first) first.focus();
}

function fileButton(f) {
  const b = el("button", { type: "button", class: "link file", text: f.title || f.path });
  b.addEventListener("click", () => openPreview({ id: f.id }));
  return b;
}

$("#topics-button").addEventListener("click", async () => {
  let r;
  try { r = await api("/api/topics"); } catch (e) { $("#summary").textContent = e.message; return; }
  if (!r.topics.length) { showView("Topics", el("p", { text: "No topics yet: an admin builds them (spyglass topics)." })); return; }
  const list = el("ul", { class: "topics" });
  for (const t of r.topics) {
    const open = el("button", { type: "button", class: "link", text: t.name || t.label || `topic ${t.id}` });
    open.addEventListener("click", () => { $("#q").value = `topic:${t.id} `; $("#view").hidden = true; runSearch(); $("#q").focus(); });
    list.append(el("li", {}, open, el("span", { class: "meta", text: ` ${t.size} files${t.name ? " · " + t.label : ""}` }),
      el("div", {}, ...t.examples.map((e) => fileButton(e)))));
  }
  showView("Topics", list);
});

$("#suggest-button").addEventListener("click", async () => {
  let r;
  try { r = await api("/api/suggest"); } catch (e) { $("#summary").textContent = e.message; return; }
  if (!r.suggestions.length) { showView("Suggested", el("p", { text: "Nothing yet: suggestions learn from the files you open." })); return; }
  showView("Suggested", el("div", {}, ...r.suggestions.map((s) => fileButton(s))));
});

$("#dups-button").addEventListener("click", async () => {
  let r;
  try { r = await api("/api/duplicates"); } catch (e) { $("#summary").textContent = e.message; return; }
  if (!r.groups.length) { showView("Duplicates", el("p", { text: "No duplicates among your files." })); return; }
  const list = el("ul", { class: "dups" });
  for (const g of r.groups) {
    const files = el("ul");
    for (const f of g.files) files.append(el("li", {}, fileButton(f), f.id === g.keep ? el("span", { class: "keep", text: " keep (newest)" }) : ""));
    list.append(el("li", {}, el("strong", { text: `${g.kind} · ${g.files.length} files · similarity ${g.similarity.toFixed(2)}` }), files));
  }
  showView("Duplicates", list);
});

// -- organize plans: review, keep or drop each action, apply (journalled), undo -------------------------------------
function describe(a) {
  if (a.op === "tag") return `tag ${a.path} with “${a.tag}”`;
  return `${a.op} ${a.path} → ${a.to}`;
}

function planView(plan) {
  const list = el("ul", { class: "plan" });
  for (const a of plan.actions) {
    const box = el("input", { type: "checkbox", id: `act-${a.n}`, "data-n": String(a.n) });
    box.checked = !plan.applied;
    box.disabled = !!plan.applied;
    list.append(el("li", {}, box, el("label", { for: `act-${a.n}`, text: ` ${describe(a)}` }),
      a.why ? el("span", { class: "meta", text: ` (${a.why})` }) : null));
  }
  const report = el("div", { id: "plan-report", "aria-live": "polite" });
  const apply = el("button", { type: "button", id: "plan-apply", text: "Apply checked actions" });
  const undo = el("button", { type: "button", id: "plan-undo", text: "Undo this plan" });
  apply.hidden = !!plan.applied || !plan.actions.length;
  undo.hidden = !plan.applied;
  apply.addEventListener("click", async () => {
    const keep = [...list.querySelectorAll("input:checked")].map((b) => Number(b.dataset.n));
    try {
      const r = await api(`/api/organize/plans/${plan.id}/apply`, { method: "POST", body: { keep } });
      report.textContent = `Done ${r.done}, skipped ${r.skipped}, already ${r.already}. Reindex to refresh search.`;
      apply.hidden = true; undo.hidden = false;
      for (const b of list.querySelectorAll("input")) b.disabled = true;
    } catch (e) { report.textContent = e.message; }
  });
  undo.addEventListener("click", async () => {
    try {
      const r = await api(`/api/organize/plans/${plan.id}/undo`, { method: "POST", body: {} });
      report.textContent = `Undone ${r.undone}, skipped ${r.skipped}.`;
      undo.hidden = true;
    } catch (e) { report.textContent = e.message; }
  });
  const summary = plan.actions.length ? `${plan.actions.length} proposed actions. Nothing changes until you apply; files are never deleted or overwritten.`
    : "Nothing to tidy: no duplicates, unfiled files or generic names among your files.";
  showView(`Plan ${plan.id}`, el("p", { text: summary }), list, el("p", {}, apply, " ", undo), report);
}

$("#organize-button").addEventListener("click", async () => {
  let r;
  try { r = await api("/api/organize/plans"); } catch (e) { $("#summary").textContent = e.message; return; }
  const make = el("button", { type: "button", id: "plan-make", text: "Make a new plan" });
  make.addEventListener("click", async () => {
    make.disabled = true;
    try { planView(await api("/api/organize/plans", { method: "POST", body: { tags: true } })); }
    catch (e) { $("#summary").textContent = e.message; make.disabled = false; }
  });
  const list = el("ul", { class: "plans" });
  for (const p of r.plans.slice().reverse()) {
    const b = el("button", { type: "button", class: "link", text: `${p.id} · ${p.actions} actions${p.applied ? " · applied" : ""}` });
    b.addEventListener("click", async () => planView(await api(`/api/organize/plans/${p.id}`)));
    list.append(el("li", {}, b));
  }
  showView("Organize", el("p", { text: "Plans tidy your files: duplicate copies to a holding folder, unfiled files into their best folder, generic names to titles, confident tags." }), make, list);
});

function highlight(text, words) {
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

function closePreview() {
  endDwell();
  $("#preview").hidden = true;
  const items = $("#results").children;
  if (state.selected >= 0 && items[state.selected]) items[state.selected].focus(); else $("#q").focus();
}
$("#preview-close").addEventListener("click", closePreview);

// -- autocomplete ----------------------------------------------------------------------------------------------
let suggestTimer = null;
async function suggest() {
  const q = $("#q").value.trim();
  if (q.length < 2) return hideSuggestions();
  let r;
  try { r = await api("/api/autocomplete?" + new URLSearchParams({ q, limit: "6" })); } catch (e) { return hideSuggestions(); }
  if ($("#q").value.trim() !== q) return;
  state.sugg = r.suggestions; state.suggSel = -1;
  const ul = $("#suggestions");
  ul.replaceChildren(...r.suggestions.map((s, i) => {
    const li = el("li", { role: "option", id: `s-${i}`, "aria-selected": "false" }, el("span", { text: s.title }),
                  el("span", { class: "meta", text: " " + s.type }));
    li.addEventListener("mousedown", (ev) => { ev.preventDefault(); pickSuggestion(i); });
    return li;
  }));
  ul.hidden = r.suggestions.length === 0;
  $("#q").setAttribute("aria-expanded", String(!ul.hidden));
}
function hideSuggestions() { $("#suggestions").hidden = true; $("#q").setAttribute("aria-expanded", "false"); state.suggSel = -1; }
function moveSuggestion(d) {
  const items = $("#suggestions").children;
  if (!items.length || $("#suggestions").hidden) return false;
  if (state.suggSel >= 0) items[state.suggSel].setAttribute("aria-selected", "false");
  state.suggSel = (state.suggSel + d + items.length) % items.length;
  items[state.suggSel].setAttribute("aria-selected", "true");
  $("#q").setAttribute("aria-activedescendant", items[state.suggSel].id);
  return true;
}
function pickSuggestion(i) {
  const s = state.sugg[i];
  hideSuggestions();
  openPreview({ id: s.id });
}

// -- ask -------------------------------------------------------------------------------------------------------
// Streams /api/ask/stream: the draft appears as the model writes it, then is replaced by the checked answer whose
// citations [n] are links that open the cited document.
let askSource = null;
function renderAnswer(box, a) {
  const p = el("p", { class: "answer-text" });
  const byN = Object.fromEntries(a.citations.map((c) => [c.n, c]));
  let last = 0;
  for (const m of a.answer.matchAll(/\[(\d+)\]/g)) {
    p.append(a.answer.slice(last, m.index));
    const c = byN[Number(m[1])];
    if (c) {
      const link = el("a", { href: "#", class: "cite", title: `${c.title}${c.page ? ", page " + c.page : ""}`, text: m[0] });
      link.addEventListener("click", (ev) => { ev.preventDefault(); openPreview({ id: c.id, page: c.page }); });
      p.append(link);
    } else p.append(m[0]);
    last = m.index + m[0].length;
  }
  p.append(a.answer.slice(last));
  const list = el("ol", { class: "citations" });
  for (const c of a.citations) {
    const link = el("a", { href: "#", text: c.title + (c.page ? `, page ${c.page}` : "") });
    link.addEventListener("click", (ev) => { ev.preventDefault(); openPreview({ id: c.id, page: c.page }); });
    list.append(el("li", { value: String(c.n) }, link, el("div", { class: "meta", text: c.snippet.slice(0, 160) })));
  }
  const parts = [el("h2", { text: "Answer" }), p];
  if (a.dropped && a.dropped.length) parts.push(el("p", { class: "meta", text: `${a.dropped.length} statement(s) dropped: no passage supported them.` }));
  if (a.citations.length) parts.push(list);
  parts.push(el("p", { class: "meta", text: `${a.backend} · ${Math.round(a.timings_ms.total)} ms` }));
  box.replaceChildren(...parts);
}

$("#ask-button").addEventListener("click", () => {
  const q = $("#q").value.trim();
  if (!q) return;
  const box = $("#answer");
  box.hidden = false;
  const draft = el("p", { class: "answer-text", text: "…" });
  box.replaceChildren(el("h2", { text: "Answer" }), draft);
  if (askSource) askSource.close();
  askSource = new EventSource("/api/ask/stream?" + new URLSearchParams({ q }));
  let started = false;
  askSource.addEventListener("token", (ev) => {
    const t = JSON.parse(ev.data).text;
    draft.textContent = started ? draft.textContent + t : t;
    started = true;
  });
  askSource.addEventListener("answer", (ev) => { askSource.close(); renderAnswer(box, JSON.parse(ev.data)); });
  askSource.addEventListener("error", (ev) => {
    askSource.close();
    api("/api/me").catch(() => {});  // a stream cannot tell a 401: ask whether the session still holds
    let msg = "The answer could not be completed.";
    try { msg = JSON.parse(ev.data).detail; } catch (e) { /* a dropped connection */ }
    box.replaceChildren(el("h2", { text: "Answer" }), el("p", { class: "meta", text: msg }));
  });
});

// -- keyboard --------------------------------------------------------------------------------------------------
$("#q").addEventListener("input", () => { scheduleSearch(); clearTimeout(suggestTimer); suggestTimer = setTimeout(suggest, 120); });
$("#q").addEventListener("keydown", (ev) => {
  if (ev.key === "ArrowDown") { ev.preventDefault(); if (!moveSuggestion(1)) select(0); }
  else if (ev.key === "ArrowUp") { ev.preventDefault(); moveSuggestion(-1); }
  else if (ev.key === "Enter") {
    ev.preventDefault();
    if (state.suggSel >= 0) pickSuggestion(state.suggSel); else { hideSuggestions(); runSearch(); }
  } else if (ev.key === "Escape") hideSuggestions();
});
$("#q").addEventListener("blur", () => setTimeout(hideSuggestions, 100));
$("#search-form").addEventListener("submit", (ev) => { ev.preventDefault(); runSearch(); });
for (const id of ["#mode", "#after", "#before"]) $(id).addEventListener("change", () => runSearch());
$("#more").addEventListener("click", () => runSearch(true));
$("#results").addEventListener("keydown", (ev) => {
  if (ev.key === "ArrowDown") { ev.preventDefault(); select(state.selected + 1); }
  else if (ev.key === "ArrowUp") { ev.preventDefault(); if (state.selected <= 0) $("#q").focus(); else select(state.selected - 1); }
  else if (ev.key === "Enter" && state.selected >= 0) { ev.preventDefault(); openPreview(state.results[state.selected]); }
});
document.addEventListener("keydown", (ev) => {
  const typing = ["INPUT", "SELECT", "TEXTAREA"].includes(document.activeElement.tagName);
  if (ev.key === "/" && !typing) { ev.preventDefault(); $("#q").focus(); $("#q").select(); }
  else if (ev.key === "Escape" && !$("#preview").hidden) closePreview();
});

boot();
