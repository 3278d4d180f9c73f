// Spyglass web app: landing page, search as you type, autocomplete, facets, previews, answers, views. ES modules,
// no framework, no build step, no inline script (the CSP allows scripts from this site only).

import { api, logout, session } from "./api.js";
import { ask, initAsk } from "./ask.js";
import { hideSuggestions, moveSuggestion, pick, scheduleSuggest, selectedSuggestion, suggestionsOpen } from "./autocomplete.js";
import { $ } from "./dom.js";
import { showHome } from "./home.js";
import { closePreview, initPreview, previewOpen } from "./preview.js";
import { goHome, initSearch, runSearch, scheduleSearch, select } from "./search.js";
import { showDuplicates, showOrganize, showTopics } from "./views.js";

// -- session -----------------------------------------------------------------------------------------------------
async function boot() {
  const params = new URLSearchParams(location.search);
  const q = params.get("q");  // a link into a search: read once, then dropped from the URL
  const ended = params.get("session") === "ended";
  if (location.search || location.hash) history.replaceState(null, "", "/");
  let me = null;
  try { me = await api("/api/me"); } catch (e) { me = null; }
  if (me && me.user) { session.user = me.user; session.csrf = me.csrf; showApp(q); }
  else showLogin(ended ? "Your session ended: log in again." : "");
}

function showLogin(message = "") {
  $("#app-view").hidden = true;
  $("#login-view").hidden = false;
  $("#login-error").textContent = message;
  $("#login-user").focus();
}

function showApp(q) {
  $("#login-view").hidden = true;
  $("#app-view").hidden = false;
  $("#who").textContent = `${session.user.name}${session.user.role === "admin" ? " (admin)" : ""}`;
  $("#organize-button").hidden = session.user.role !== "admin";  // plans move files: admins review and apply them
  if (q) { $("#q").value = q; runSearch(); } else showHome(true);
  $("#q").focus();
}

$("#login-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  $("#login-error").textContent = "";
  try {
    const r = await api("/api/login", { method: "POST", body: { user: $("#login-user").value, password: $("#login-password").value } });
    session.user = r.user; session.csrf = r.csrf;
    $("#login-password").value = "";
    showApp(null);
  } catch (e) { $("#login-error").textContent = e.message; }
});

$("#logout").addEventListener("click", () => logout());

// -- navigation --------------------------------------------------------------------------------------------------
$("#home-button").addEventListener("click", () => { $("#q").value = ""; goHome(); $("#q").focus(); });
$("#topics-button").addEventListener("click", showTopics);
$("#dups-button").addEventListener("click", showDuplicates);
$("#organize-button").addEventListener("click", showOrganize);
$("#ask-button").addEventListener("click", () => { hideSuggestions(); ask($("#q").value.trim()); });

// -- keyboard ----------------------------------------------------------------------------------------------------
$("#q").addEventListener("input", () => { scheduleSearch(); scheduleSuggest(); });
$("#q").addEventListener("keydown", (ev) => {
  if (ev.key === "ArrowDown") { ev.preventDefault(); if (!moveSuggestion(1)) select(0); }
  else if (ev.key === "ArrowUp") { ev.preventDefault(); moveSuggestion(-1); }
  else if (ev.key === "Enter") {
    ev.preventDefault();
    if (selectedSuggestion() >= 0) pick(selectedSuggestion()); else { hideSuggestions(); runSearch(); }
  } else if (ev.key === "Escape") {
    // Escape closes what is open — the suggestions, else the preview — and keeps the search; with nothing open it
    // is the search box's own Escape (clear).
    if (suggestionsOpen()) { ev.preventDefault(); ev.stopPropagation(); hideSuggestions(); }
    else if (previewOpen()) { ev.preventDefault(); ev.stopPropagation(); closePreview(); }
  }
});
$("#q").addEventListener("blur", () => setTimeout(hideSuggestions, 100));
$("#search-form").addEventListener("submit", (ev) => { ev.preventDefault(); hideSuggestions(); runSearch(); });
document.addEventListener("keydown", (ev) => {
  const typing = ["INPUT", "SELECT", "TEXTAREA"].includes(document.activeElement.tagName);
  if (ev.key === "/" && !typing) { ev.preventDefault(); $("#q").focus(); $("#q").select(); }
  else if (ev.key === "Escape" && previewOpen()) closePreview();
});

initSearch();
initPreview();
initAsk();
boot();
