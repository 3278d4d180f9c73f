// The answer panel: streams /api/ask/stream (the draft appears as the model writes it), then shows the checked
// answer, whose citations [n] open the cited document. It can be dismissed, and a new search clears it.

import { api, beforeForget } from "./api.js";
import { $, el } from "./dom.js";
import { openPreview } from "./preview.js";

let source = null;
let asked = null;  // the question the panel answers

export function answeredQuery() { return asked; }

export function clearAnswer() {
  if (source) { source.close(); source = null; }
  asked = null;
  const box = $("#answer");
  box.hidden = true;
  $("#answer-body").replaceChildren();
}
beforeForget(() => { if (source) source.close(); });

function citeLink(c, text, cls) {
  const a = el("a", { href: "#", class: cls, title: `${c.title}${c.page ? ", page " + c.page : ""}`, text });
  a.addEventListener("click", (ev) => { ev.preventDefault(); openPreview({ id: c.id, page: c.page }, a); });
  return a;
}

function renderAnswer(a) {
  const p = el("p", { class: "answer-text" });
  const citations = a.citations || [];
  const byN = Object.fromEntries(citations.map((c) => [c.n, c]));
  const text = a.answer || "";
  // the answer model's span inside the quoted sentence (offsets into the first claim, which the answer starts with)
  const claim = (a.claims || [])[0];
  const span = a.found && claim && claim.span && text.startsWith(claim.text) ? claim.span : null;
  const put = (from, to) => {  // text[from, to) with the span marked
    if (!span || to <= span[0] || from >= span[1]) { p.append(text.slice(from, to)); return; }
    const s0 = Math.max(from, span[0]), s1 = Math.min(to, span[1]);
    p.append(text.slice(from, s0), el("mark", { class: "answer-span", text: text.slice(s0, s1) }), text.slice(s1, to));
  };
  let last = 0;
  for (const m of text.matchAll(/\[(\d+)\]/g)) {
    put(last, m.index);
    const c = byN[Number(m[1])];
    p.append(c ? citeLink(c, m[0], "cite") : m[0]);
    last = m.index + m[0].length;
  }
  put(last, text.length);
  const parts = [p];
  if (a.dropped && a.dropped.length) {
    parts.push(el("p", { class: "meta", text: `${a.dropped.length} statement(s) dropped: no passage supported them.` }));
  }
  if (citations.length) {
    parts.push(el("ol", { class: "citations" }, ...citations.map((c) => el("li", { value: String(c.n) },
      citeLink(c, c.title + (c.page ? `, page ${c.page}` : "")),
      el("div", { class: "meta", text: (c.snippet || "").slice(0, 160) })))));
  }
  const took = a.timings_ms && a.timings_ms.total;
  parts.push(el("p", { class: "meta", text: [a.backend, took ? `${Math.round(took)} ms` : ""].filter(Boolean).join(" · ") }));
  $("#answer-body").replaceChildren(...parts);
}

export function ask(q) {
  if (!q) return;
  clearAnswer();
  asked = q;
  $("#answer").hidden = false;
  const draft = el("p", { class: "answer-text", text: "…" });
  $("#answer-body").replaceChildren(draft);
  const es = new EventSource("/api/ask/stream?" + new URLSearchParams({ q }));
  source = es;
  let started = false;
  es.addEventListener("token", (ev) => {
    const t = JSON.parse(ev.data).text;
    draft.textContent = started ? draft.textContent + t : t;
    started = true;
  });
  es.addEventListener("answer", (ev) => {
    es.close();
    if (source === es) renderAnswer(JSON.parse(ev.data));
  });
  es.addEventListener("error", (ev) => {
    es.close();
    if (source !== es) return;  // dismissed or replaced meanwhile
    api("/api/me").catch(() => {});  // a stream cannot tell a 401: a 401 here drops the page
    let msg = "The answer could not be completed.";
    try { msg = JSON.parse(ev.data).detail; } catch (e) { /* a dropped connection */ }
    $("#answer-body").replaceChildren(el("p", { class: "meta", text: msg }));
  });
}

export function initAsk() {
  $("#answer-close").addEventListener("click", () => { clearAnswer(); $("#q").focus(); });
}
