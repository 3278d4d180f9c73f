// Talking to the server, and forgetting the session: the signed-in user, the CSRF token, JSON requests, and the
// wipe that runs on logout and on any 401.

export const session = { user: null, csrf: null };
const onForget = [];

// Modules register what must stop before the page is dropped (an open answer stream, a dwell timer).
export function beforeForget(fn) { onForget.push(fn); }

export async function api(path, opts = {}) {
  const headers = Object.assign({ accept: "application/json" }, opts.headers || {});
  if (opts.body !== undefined) headers["content-type"] = "application/json";
  if (session.csrf && opts.method && opts.method !== "GET") headers["x-csrf-token"] = session.csrf;
  const res = await fetch(path, { method: opts.method || "GET", headers, credentials: "same-origin",
                                  body: opts.body === undefined ? undefined : JSON.stringify(opts.body) });
  if (res.status === 401 && session.user) return forgetAndReload(true);  // the session ended: nothing may stay
  let data = null;
  try { data = await res.json(); } catch (e) { data = null; }
  if (!res.ok) {
    const detail = data && data.detail;
    const err = new Error((typeof detail === "string" ? detail : detail && JSON.stringify(detail)) || res.statusText);
    err.status = res.status;
    throw err;
  }
  return data;
}

// Logging out (or a 401) leaves nothing of this user for the next one: the server drops the session, the browser
// drops this site's HTTP cache and storage (Clear-Site-Data from /api/forget), and a fresh load of "/" replaces
// this page, so no DOM, JS variable, open preview, stream or URL of the session survives. (Queries are never put
// in the URL: a page cannot wipe the browser's history.)
let forgetting = null;
export function forgetAndReload(ended) {
  if (forgetting) return forgetting;
  session.user = null; session.csrf = null;
  for (const fn of onForget) { try { fn(); } catch (e) { /* keep wiping */ } }
  document.body.replaceChildren();
  forgetting = (async () => {
    try { await fetch("/api/forget", { method: "POST", headers: { "x-spyglass-forget": "1" }, cache: "no-store" }); }
    catch (e) { /* offline: the reload still drops the page */ }
    try { localStorage.clear(); sessionStorage.clear(); } catch (e) { /* storage disabled */ }
    try { if (window.caches) for (const k of await caches.keys()) await caches.delete(k); } catch (e) { /* none */ }
    location.replace(ended ? "/?session=ended" : "/");
    return new Promise(() => {});  // callers wait for the reload
  })();
  return forgetting;
}

export async function logout() {
  for (const fn of onForget) { try { fn(); } catch (e) { /* keep going */ } }
  session.user = null;  // a request still in flight may now get a 401: that is this logout, not an ended session
  try { await api("/api/logout", { method: "POST", body: {} }); } catch (e) { /* already gone */ }
  return forgetAndReload(false);
}
