// Autocomplete under the search box: titles of readable documents (titled documents first, the server orders
// them); arrows move, Enter opens, Escape closes the list and keeps the search.

import { api } from "./api.js";
import { $, el, pathSpan } from "./dom.js";
import { openPreview } from "./preview.js";

const ac = { items: [], sel: -1, timer: null, seq: 0 };

export function scheduleSuggest() { clearTimeout(ac.timer); ac.timer = setTimeout(suggest, 120); }

async function suggest() {
  const q = $("#q").value.trim();
  const seq = ++ac.seq;
  if (q.length < 2) return hideSuggestions();
  let r;
  try { r = await api("/api/autocomplete?" + new URLSearchParams({ q, limit: "6" })); } catch (e) { return hideSuggestions(); }
  if (!r || seq !== ac.seq || $("#q").value.trim() !== q || document.activeElement !== $("#q")) return;
  ac.items = r.suggestions || []; ac.sel = -1;
  const ul = $("#suggestions");
  ul.replaceChildren(...ac.items.map((s, i) => {
    const li = el("li", { role: "option", id: `s-${i}`, "aria-selected": "false" },
                  el("span", { class: "s-title", text: s.title }), " ", pathSpan(s.path, "s-path"));
    li.addEventListener("mousedown", (ev) => { ev.preventDefault(); pick(i); });
    return li;
  }));
  ul.hidden = ac.items.length === 0;
  $("#q").setAttribute("aria-expanded", String(!ul.hidden));
}

export function suggestionsOpen() { return !$("#suggestions").hidden; }
export function selectedSuggestion() { return ac.sel; }

export function hideSuggestions() {
  clearTimeout(ac.timer);
  ac.seq++;  // an answer still on its way must not reopen the list
  ac.items = [];
  $("#suggestions").replaceChildren();  // a closed list keeps no stale entries (for another query)
  $("#suggestions").hidden = true;
  $("#q").setAttribute("aria-expanded", "false");
  $("#q").removeAttribute("aria-activedescendant");
  ac.sel = -1;
}

export function moveSuggestion(d) {
  const items = $("#suggestions").children;
  if (!items.length || $("#suggestions").hidden) return false;
  if (ac.sel >= 0) items[ac.sel].setAttribute("aria-selected", "false");
  ac.sel = (ac.sel + d + items.length) % items.length;
  items[ac.sel].setAttribute("aria-selected", "true");
  $("#q").setAttribute("aria-activedescendant", items[ac.sel].id);
  return true;
}

export function pick(i) {
  const s = ac.items[i];
  hideSuggestions();
  if (s) openPreview({ id: s.id }, $("#q"));
}
