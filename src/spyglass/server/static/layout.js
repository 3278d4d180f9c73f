// Which part of the main column shows: the landing page ("home"), search results ("results") or a view (topics,
// duplicates, organize plans).

import { $ } from "./dom.js";

const listeners = [];
export function onMode(fn) { listeners.push(fn); }

export function setMode(mode, nav = mode) {
  $("#home").hidden = mode !== "home";
  $("#results-box").hidden = mode !== "results";
  $("#view").hidden = mode !== "view";
  $("#filters").hidden = mode !== "results";  // filters narrow a search; the landing page and views have none
  for (const b of document.querySelectorAll(".views button[data-nav]")) {
    if (b.dataset.nav === nav) b.setAttribute("aria-current", "page"); else b.removeAttribute("aria-current");
  }
  for (const fn of listeners) fn(mode);
}
