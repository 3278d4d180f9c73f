// The landing page (the search box empty): what the index covers, files suggested for the user, recent files.

import { api } from "./api.js";
import { $, el, fileCard, fmtCount, fmtDate } from "./dom.js";
import { setMode } from "./layout.js";
import { openPreview } from "./preview.js";

let loadedAt = 0;

export async function showHome(force = false) {
  setMode("home", "home");
  if (!force && Date.now() - loadedAt < 5000) return;  // coming back while typing: no new requests
  loadedAt = Date.now();
  const [recent, sugg, status] = await Promise.all([
    api("/api/recent?limit=12").catch(() => null),
    api("/api/suggest?limit=8").catch(() => null),
    api("/api/status").catch(() => null),
  ]);
  const open = (f) => openPreview({ id: f.id });
  shelf("#suggested", (sugg && sugg.suggestions) || [], open,
        "Nothing yet: the files you open, and those that usually follow them, appear here.");
  shelf("#recent", (recent && recent.files) || [], open, "No files you may read have been indexed yet.");
  const cov = coverage(status);
  $("#coverage").replaceChildren(...cov);
  $("#coverage").hidden = !cov.length;
}

function shelf(sel, files, open, empty) {
  const ul = $(sel);
  ul.replaceChildren(...files.map((f) => fileCard(f, open)));
  const note = ul.nextElementSibling;
  if (note) { note.textContent = files.length ? "" : empty; note.hidden = files.length > 0; }
}

// What the index covers, from /api/status; every field may be missing (older servers, members' reduced view).
export function coverage(s) {
  if (!s || typeof s !== "object") return [];
  const parts = [];
  if (typeof s.documents === "number") parts.push(`${fmtCount(s.documents)} items indexed`);
  const sem = s.semantic;
  if (sem && typeof sem === "object") {
    if (sem.model && typeof sem.coverage === "number") {
      const pct = Math.floor(sem.coverage * 1000) / 10;
      const waiting = typeof sem.pending_passages === "number" && sem.pending_passages > 0
        ? ` (${fmtCount(sem.pending_passages)} passages still to embed)` : "";
      const meter = el("meter", { min: "0", max: "1", value: String(sem.coverage), "aria-label": "Semantic coverage" });
      parts.push([meter, ` semantic search covers ${pct}% of the text${waiting}`]);
    } else if (sem.model === null || sem.model === undefined) {
      parts.push("keyword search (semantic search is not built)");
    }
  }
  const run = s.last_run;
  if (run && typeof run === "object" && run.finished) parts.push(`updated ${fmtDate(run.finished)}`);
  return parts.map((p) => el("span", { class: "cov-part" }, ...(Array.isArray(p) ? p : [p])));
}
