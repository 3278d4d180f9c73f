// Search as you type: results with thumbnails and short paths, facets with counts as badges and topic names,
// keyboard selection, more results.

import { api } from "./api.js";
import { answeredQuery, clearAnswer } from "./ask.js";
import { $, el, fmtCount, fmtDate, pathSpan, safeSnippet, thumb } from "./dom.js";
import { showHome } from "./home.js";
import { setMode } from "./layout.js";
import { openPreview } from "./preview.js";

const PAGE = 20;
const st = { offset: 0, lastKey: null, results: [], selected: -1, filters: {}, seq: 0 };

function params(extra = {}) {
  const p = new URLSearchParams({ q: $("#q").value.trim(), limit: String(PAGE), facets: "true", ...extra });
  if ($("#mode").value) p.set("mode", $("#mode").value);
  if ($("#after").value) p.set("after", $("#after").value);
  if ($("#before").value) p.set("before", $("#before").value);
  for (const [name, values] of Object.entries(st.filters)) for (const v of values) p.append(name, v);
  return p;
}

let debounce = null;
export function scheduleSearch() { clearTimeout(debounce); debounce = setTimeout(() => runSearch(), 180); }

// The results are gone (a view replaced them): the same query must search again.
export function forgetResults() {
  $("#results").replaceChildren(); $("#more").hidden = true; $("#summary").textContent = "";
  st.lastKey = null; st.results = []; st.selected = -1;
}

export async function runSearch(append = false) {
  clearTimeout(debounce);
  const q = $("#q").value.trim();
  if (!q) return goHome(false);
  setMode("results", "search");
  const key = params().toString();
  if (!append && key === st.lastKey) return;  // nothing changed: keep the list (and the keyboard position)
  if (!append && q !== answeredQuery()) clearAnswer();  // a new search: the last answer no longer applies
  const seq = ++st.seq;
  const offset = append ? st.offset + PAGE : 0;
  let r;
  try { r = await api("/api/search?" + params({ offset: String(offset) })); }
  catch (e) {
    if (seq === st.seq) { $("#summary").textContent = e.message; st.lastKey = null; }
    return;
  }
  if (!r || seq !== st.seq) return;  // a newer keystroke won (or the page is being dropped)
  st.lastKey = key; st.offset = offset;
  const shown = r.results || [];
  shown.forEach((h, i) => { h.searchId = r.search_id; h.position = offset + i + 1; });
  st.results = append ? st.results.concat(shown) : shown;
  const total = typeof r.total === "number" ? r.total : st.results.length;
  const fuzzy = r.fuzzy && r.fuzzy.length ? ` · also matched near spellings of ${r.fuzzy.join(", ")}` : "";
  $("#summary").textContent = `${fmtCount(total)} result${total === 1 ? "" : "s"}` +
    (r.mode ? ` · ${r.mode}` : "") + (r.took_ms !== undefined ? ` · ${r.took_ms} ms` : "") + fuzzy;
  renderResults(append);
  if (!append) renderFacets(r.facets || {});
  $("#more").hidden = st.results.length >= total || shown.length === 0;
}

function renderResults(append) {
  const ol = $("#results");
  if (!append) { ol.replaceChildren(); st.selected = -1; }
  for (const h of st.results.slice(ol.children.length)) {
    const idx = ol.children.length;
    const where = h.label || (h.page ? `page ${h.page}` : "");
    const meta = el("div", { class: "meta" },
      ...[h.type, fmtDate(h.modified), where].filter(Boolean).map((t) => el("span", { text: t })), pathSpan(h.path));
    const li = el("li", { id: `r-${idx}`, role: "option", "data-id": h.id, tabindex: "-1", "aria-selected": "false" },
      thumb(h), el("div", { class: "r-body" }, el("div", { class: "r-title", text: h.title }), meta,
                   safeSnippet(h.snippet)));
    li.addEventListener("click", () => { select(idx, false); openPreview(h, li); });
    ol.append(li);
  }
}

// -- facets ------------------------------------------------------------------------------------------------------
let topicNames = null;  // topic id -> name, read once from /api/topics (a logout reloads the page, and forgets it)
function loadTopicNames() {
  if (!topicNames) {
    topicNames = api("/api/topics").then((r) => Object.fromEntries(((r && r.topics) || []).map(
      (t) => [String(t.id), t.name || t.label || `topic ${t.id}`]))).catch(() => { topicNames = null; return {}; });
  }
  return topicNames;
}

const FACET_NAMES = { type: "Type", source: "Source", year: "Year", folder: "Folder", topic: "Topic" };

async function renderFacets(facets) {
  const names = facets.topic && facets.topic.length ? await loadTopicNames() : {};
  const box = $("#facets");
  box.replaceChildren();
  for (const [key, rows] of Object.entries(facets)) {
    if (!Array.isArray(rows) || !rows.length) continue;
    const div = el("div", { class: "facet", role: "group", "aria-labelledby": `fh-${key}` },
                   el("h3", { id: `fh-${key}`, text: FACET_NAMES[key] || key }));
    for (const row of rows) div.append(facetRow(key, row, names));
    box.append(div);
  }
}

function facetRow(key, row, topicNames) {
  const value = String(row.value);
  const id = `f-${key}-${value}`;
  const cb = el("input", { type: "checkbox", id });
  const param = key === "year" ? null : key;
  cb.checked = param ? (st.filters[param] || []).includes(value)
    : $("#after").value === `${value}-01-01` && $("#before").value === `${Number(value) + 1}-01-01`;
  cb.addEventListener("change", () => {
    if (key === "year") {
      $("#after").value = cb.checked ? `${value}-01-01` : "";
      $("#before").value = cb.checked ? `${Number(value) + 1}-01-01` : "";
    } else {
      const cur = new Set(st.filters[param] || []);
      if (cb.checked) cur.add(value); else cur.delete(value);
      st.filters[param] = [...cur];
    }
    runSearch();
  });
  let shown = value, title = value;
  if (key === "folder") shown = value.split("/").filter(Boolean).pop() || value;
  if (key === "topic") { shown = topicNames[value] || `topic ${value}`; title = `topic ${value}: ${shown}`; }
  return el("label", { for: id, title },
    cb, el("span", { class: "f-name", text: shown }), " ",
    el("span", { class: "badge", text: fmtCount(row.count) }));
}

// -- keyboard ----------------------------------------------------------------------------------------------------
export function select(i, focus = true) {
  const items = $("#results").children;
  if (!items.length) return;
  i = Math.max(0, Math.min(items.length - 1, i));
  if (st.selected >= 0 && items[st.selected]) items[st.selected].setAttribute("aria-selected", "false");
  st.selected = i;
  items[i].setAttribute("aria-selected", "true");
  if (focus) items[i].focus();
  items[i].scrollIntoView({ block: "nearest" });
}

export function initSearch() {
  $("#more").addEventListener("click", () => runSearch(true));
  for (const id of ["#mode", "#after", "#before"]) $(id).addEventListener("change", () => runSearch());
  $("#results").addEventListener("keydown", (ev) => {
    if (ev.key === "ArrowDown") { ev.preventDefault(); select(st.selected + 1); }
    else if (ev.key === "ArrowUp") { ev.preventDefault(); if (st.selected <= 0) $("#q").focus(); else select(st.selected - 1); }
    else if (ev.key === "Enter" && st.selected >= 0) {
      ev.preventDefault();
      openPreview(st.results[st.selected], $("#results").children[st.selected]);
    }
  });
}

// The landing page: the search box emptied, results, facets and answer gone. ``fresh``: reload its shelves.
export function goHome(fresh = true) {
  clearTimeout(debounce);
  st.seq++;  // a search still on its way must not come back
  forgetResults(); $("#facets").replaceChildren(); clearAnswer();
  showHome(fresh);
}

// Topic links (the Topics view) search for one topic.
export function searchFor(q) { $("#q").value = q; runSearch(); $("#q").focus(); }
