// Views that replace the results: topics, duplicates, and (admins) organize plans — made as a background job
// with progress, reviewed action by action, applied (journalled) and undone.

import { api } from "./api.js";
import { clearAnswer } from "./ask.js";
import { $, el, fileButton, pathSpan } from "./dom.js";
import { setMode } from "./layout.js";
import { openPreview } from "./preview.js";
import { forgetResults, searchFor } from "./search.js";

let viewSeq = 0;  // a view that is no longer shown stops updating (job polling)

function showView(nav, title, ...children) {
  viewSeq++;
  $("#q").value = "";  // a view is not a search: the box, the results and the answer go
  clearAnswer();
  forgetResults();
  setMode("view", nav);
  const view = $("#view");
  view.replaceChildren(el("h2", { text: title }), ...children);
  const first = view.querySelector("button, a, input");
  if (first) first.focus();
}

function viewError(e) { $("#view").hidden = false; $("#view").replaceChildren(el("p", { class: "error", text: e.message })); }

const open = (f) => openPreview({ id: f.id });

export async function showTopics() {
  let r;
  try { r = await api("/api/topics"); } catch (e) { return viewError(e); }
  if (!r) return;
  if (!r.topics || !r.topics.length) {
    return showView("topics", "Topics", el("p", { text: "No topics yet: an admin builds them (spyglass topics)." }));
  }
  const list = el("ul", { class: "topics" });
  for (const t of r.topics) {
    const name = t.name || t.label || `topic ${t.id}`;
    const b = el("button", { type: "button", class: "link t-name", text: name, title: `Search topic ${t.id}` });
    b.addEventListener("click", () => searchFor(`topic:${t.id} `));
    list.append(el("li", {}, b, " ", el("span", { class: "badge", text: `${t.size} files` }),
      t.name && t.label ? el("span", { class: "meta", text: ` ${t.label}` }) : null,
      el("div", { class: "examples" }, ...(t.examples || []).map((e) => fileButton(e, open)))));
  }
  showView("topics", "Topics", list);
}

export async function showDuplicates() {
  let r;
  try { r = await api("/api/duplicates"); } catch (e) { return viewError(e); }
  if (!r) return;
  if (!r.groups || !r.groups.length) return showView("dups", "Duplicates", el("p", { text: "No duplicates among your files." }));
  const list = el("ul", { class: "dups" });
  for (const g of r.groups) {
    const files = el("ul");
    for (const f of g.files) {
      files.append(el("li", {}, fileButton(f, open), " ", pathSpan(f.path, "meta"),
                      f.id === g.keep ? el("span", { class: "keep", text: " keep" }) : null));
    }
    const sim = typeof g.similarity === "number" ? ` · similarity ${g.similarity.toFixed(2)}` : "";
    list.append(el("li", {}, el("strong", { text: `${g.kind} · ${g.files.length} files${sim}` }), files));
  }
  showView("dups", "Duplicates", list);
}

// -- organize plans ----------------------------------------------------------------------------------------------
// "move team/minutes.txt → _spyglass_duplicates/minutes.txt": folder + name, each whole path on hover.
function describe(a) {
  if (a.op === "tag") return [`tag `, pathSpan(a.path), ` with “${a.tag}”`];
  return [`${a.op} `, pathSpan(a.path), " → ", pathSpan(a.to)];
}

function planView(plan) {
  const list = el("ul", { class: "plan" });
  for (const a of plan.actions) {
    const box = el("input", { type: "checkbox", id: `act-${a.n}`, "data-n": String(a.n) });
    box.checked = !plan.applied;
    box.disabled = !!plan.applied;
    list.append(el("li", {}, box, el("label", { for: `act-${a.n}` }, " ", ...describe(a)),
      a.why ? el("span", { class: "meta", text: ` (${a.why})` }) : null));
  }
  const report = el("div", { id: "plan-report", role: "status" });
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
  const summary = plan.actions.length
    ? `${plan.actions.length} proposed actions. Nothing changes until you apply; files are never deleted or overwritten.`
    : "Nothing to tidy: no duplicates, unfiled files or generic names among your files.";
  showView("organize", `Plan ${plan.id}`, el("p", { text: summary }), list, el("p", {}, apply, " ", undo), report);
}

// Making a plan over a large collection takes minutes: the server runs it as a job; the page shows its progress
// and opens the plan when it is done.
async function makePlan(make, status) {
  make.disabled = true;
  const mine = viewSeq;
  const t0 = Date.now();
  const bar = el("progress", { "aria-label": "Making the plan" });
  const text = el("span", { text: " Starting…" });
  status.replaceChildren(bar, text);
  let job;
  try { job = await api("/api/organize/plans", { method: "POST", body: { tags: true } }); }
  catch (e) { status.textContent = e.message; make.disabled = false; return; }
  while (job && viewSeq === mine && job.state !== "done" && job.state !== "failed") {
    const secs = Math.round((Date.now() - t0) / 1000);
    text.textContent = job.state === "queued" ? ` Waiting for another job to finish… ${secs} s`
      : ` Making the plan: finding duplicates, unfiled files and names… ${secs} s`;
    await new Promise((res) => setTimeout(res, 500));
    if (viewSeq !== mine) return;
    try { job = await api(`/api/jobs/${job.id}`); } catch (e) { status.textContent = e.message; make.disabled = false; return; }
  }
  if (!job || viewSeq !== mine) return;
  if (job.state === "failed") { status.textContent = `The plan failed: ${job.error}`; make.disabled = false; return; }
  try { planView(await api(`/api/organize/plans/${job.result.plan_id}`)); }
  catch (e) { status.textContent = e.message; make.disabled = false; }
}

export async function showOrganize() {
  let r;
  try { r = await api("/api/organize/plans"); } catch (e) { return viewError(e); }
  if (!r) return;
  const make = el("button", { type: "button", id: "plan-make", text: "Make a new plan" });
  const status = el("div", { id: "plan-progress", role: "status" });
  make.addEventListener("click", () => makePlan(make, status));
  const list = el("ul", { class: "plans" });
  for (const p of (r.plans || []).slice().reverse()) {
    const b = el("button", { type: "button", class: "link", text: `${p.id} · ${p.actions} actions${p.applied ? " · applied" : ""}` });
    b.addEventListener("click", async () => { try { planView(await api(`/api/organize/plans/${p.id}`)); } catch (e) { viewError(e); } });
    list.append(el("li", {}, b));
  }
  showView("organize", "Organize", el("p", { text: "Plans tidy your files: duplicate copies to a holding folder, unfiled files into their best folder, generic names to titles, confident tags." }),
           make, status, list);
}
