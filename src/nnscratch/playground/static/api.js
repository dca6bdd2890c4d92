// Talking to the playground server: one session per tab, under an id the server makes up.
//
// When the server no longer knows the session (restarted, or it dropped an idle one), it
// answers 410; `call` then re-creates the session through the `onGone` handler the page
// installs (with the page's current settings) and repeats the request once.

let sid = null;
let recovering = null;
let onGone = null;

export class GoneError extends Error {}

export function setGoneHandler(handler) { onGone = handler; }

async function send(path, payload) {
  const opts = { method: payload === undefined ? "GET" : "POST", headers: {} };
  if (sid) opts.headers["X-Session"] = sid;
  if (payload instanceof FormData) opts.body = payload;
  else if (payload !== undefined) { opts.headers["Content-Type"] = "application/json"; opts.body = JSON.stringify(payload); }
  try { return await fetch(path, opts); } catch (e) { throw new Error("the server cannot be reached: " + e.message); }
}

async function errorOf(res) {
  let data = {};
  try { data = await res.json(); } catch (e) { return new Error(`the server answered ${res.status} without JSON`); }
  const err = res.status === 410 ? new GoneError(data.error) : new Error(data.error || `request failed (${res.status})`);
  return err;
}

async function recover(reason) {
  if (!onGone) throw new Error(reason);
  if (!recovering) recovering = onGone(reason).finally(() => { recovering = null; });
  await recovering;
}

// A request that answers JSON (or a Response with `raw`); one recovery from a lost session.
export async function call(path, payload, { raw = false, retry = true } = {}) {
  const res = await send(path, payload);
  if (res.ok) {
    if (raw) return res;
    try { return await res.json(); } catch (e) { throw new Error(`the server answered ${res.status} without JSON`); }
  }
  const err = await errorOf(res);
  if (err instanceof GoneError && retry) {
    await recover(err.message);
    return call(path, payload, { raw, retry: false });
  }
  throw err;
}

// Ask the server for a new session with `config`; the answer is its first snapshot.
export async function createSession(config) {
  const res = await send("/api/session", { config });
  if (!res.ok) throw await errorOf(res);
  const data = await res.json();
  sid = data.session;
  return data;
}

export async function download(path, name) {
  const res = await call(path, undefined, { raw: true });
  const blob = await res.blob(), a = document.createElement("a");
  a.href = URL.createObjectURL(blob); a.download = name; a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}
