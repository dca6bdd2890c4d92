// nnscratch playground front end: plain JavaScript modules, no external libraries (works offline).
import { call, createSession, download, setGoneHandler } from "./api.js";
import { drawBoundary, drawCurves, drawNetwork, formatNumber } from "./draw.js";
import { activationSelectors, markChanged, readConfig, writeConfig } from "./form.js";

const $ = (id) => document.getElementById(id);
const EXPLAIN_HINT = "Click a weight (an edge) or a neuron in the network.";
const state = {
  playing: false, looping: false, data: null, points: null, applied: null, selected: null,
  curves: { train_loss: [], test_loss: [] }, generation: 0, recoveries: 0, updates: [], errors: [],
};
window.__pg = state; // for the end-to-end tests
window.addEventListener("error", (e) => state.errors.push(String(e.message)));
window.addEventListener("unhandledrejection", (e) => state.errors.push(String(e.reason)));

function message(text) { $("message").textContent = text || ""; }
function notice(text) { $("notice").textContent = text || ""; }

function takeCurves(c) {
  const mine = state.curves;
  if (c.start === 0) { state.curves = { train_loss: c.train_loss, test_loss: c.test_loss }; return; }
  for (const key of ["train_loss", "test_loss"]) {
    const arr = mine[key];
    arr.length = Math.min(arr.length, c.start);
    for (const v of c[key]) arr.push(v); // one by one: a spread of a long array overflows the stack
  }
}

function clearExplain() {
  document.querySelectorAll(".selected").forEach((e) => e.classList.remove("selected"));
  state.selected = null;
  $("explain-text").textContent = EXPLAIN_HINT;
}

// Draw a server snapshot. `full`: a new network or data (apply, upload, reset, new session).
function render(data, full) {
  const rebuild = full || !state.data || JSON.stringify(state.data.layers) !== JSON.stringify(data.layers);
  if (full) {
    state.generation += 1;
    clearExplain();
    if (data.config) { state.applied = data.config; markChanged(state.applied); }
  }
  if (data.points) state.points = data.points;
  takeCurves(data.curves);
  state.data = data;
  $("epoch").textContent = data.epoch;
  $("train_loss").textContent = formatNumber(data.train_loss); $("test_loss").textContent = formatNumber(data.test_loss);
  $("train_acc").textContent = formatNumber(data.train_acc, true); $("test_acc").textContent = formatNumber(data.test_acc, true);
  drawBoundary(data, state.points); drawCurves(state.curves); drawNetwork(data, rebuild, explain);
  if (data.diverged) { message(data.diverged); setPlaying(false); }
  const now = performance.now();
  state.updates.push(now);
  while (state.updates.length && now - state.updates[0] > 1000) state.updates.shift();
  $("ups").textContent = state.updates.length;
}

async function guarded(fn) {
  try { await fn(); } catch (e) { message(e.message); setPlaying(false); }
}

function formOrThrow() {
  const { config, error } = readConfig();
  if (error) throw new Error(error);
  return config;
}

async function applyConfig() {
  await guarded(async () => { const config = formOrThrow(); message(""); render(await call("/api/config", config), true); });
}

async function trainStep() {
  const { generation, recoveries } = state;
  const data = await call("/api/step", { epochs: 1, have: state.curves.train_loss.length });
  // an answer about a network replaced meanwhile is dropped; one retried in a re-created session is not
  if (generation === state.generation || recoveries !== state.recoveries) render(data);
}

function setPlaying(on) {
  state.playing = on;
  $("play").textContent = on ? "pause" : "play";
  if (on && !state.looping) loop(); // a loop still waiting for its answer carries on: never two
}

async function loop() {
  state.looping = true;
  try {
    while (state.playing) {
      try { await trainStep(); } catch (e) { message(e.message); setPlaying(false); }
    }
  } finally { state.looping = false; }
}

async function explain(target, el) {
  document.querySelectorAll(".selected").forEach((e) => e.classList.remove("selected"));
  if (el) el.classList.add("selected");
  state.selected = target;
  await guarded(async () => {
    const res = await call("/api/explain", { ...target, sample: Number($("sample").value) });
    const pre = $("explain-text");
    pre.replaceChildren();
    res.text.split("\u0001").forEach((part, k) => {
      if (k % 2) { const m = document.createElement("mark"); m.textContent = part; pre.appendChild(m); }
      else pre.appendChild(document.createTextNode(part));
    });
    const mark = pre.querySelector("mark");
    if (mark) mark.scrollIntoView({ block: "nearest" });
  });
}

async function upload(file) {
  const form = new FormData(); form.append("file", file);
  const data = await call("/api/upload", form);
  writeConfig(data.config); // the form now says "uploaded CSV", as the session does
  render(data, true);
  return data;
}

// The server forgot this tab's session: make a new one with the settings the page was showing.
async function recreate(reason) {
  const settings = state.applied || readConfig().config || {};
  const file = $("upload").files[0];
  const wasUpload = settings.dataset === "upload";
  const data = await createSession(wasUpload ? { ...settings, dataset: "xor" } : settings);
  render(data, true);
  let how = "with the same settings";
  if (wasUpload && file) { await upload(file); how = `with the same settings and ${file.name} uploaded again`; }
  else if (wasUpload) { writeConfig(data.config); markChanged(state.applied); how = "with the same settings on xor (upload the CSV again)"; }
  state.recoveries += 1;
  notice(`${reason}. A new session was started ${how}; training starts again from epoch 0.`);
}

async function start() {
  setGoneHandler(recreate);
  await guarded(async () => {
    const { config } = readConfig();
    render(await createSession(config || {}), true);
  });
}

function init() {
  $("hidden").addEventListener("change", activationSelectors);
  activationSelectors();
  $("controls").addEventListener("input", () => markChanged(state.applied));
  $("controls").addEventListener("change", () => markChanged(state.applied));
  $("apply").onclick = applyConfig;
  $("play").onclick = () => setPlaying(!state.playing);
  $("step").onclick = () => guarded(trainStep);
  $("reset").onclick = () => guarded(async () => { message(""); render(await call("/api/reset", {}), true); });
  $("upload").onchange = () => guarded(async () => {
    const f = $("upload").files[0]; if (!f) return;
    message("");
    await upload(f);
  });
  const exportLink = (id, path, name) => {
    $(id).onclick = (e) => { e.preventDefault(); guarded(() => download(path, name)); };
  };
  exportLink("export-model", "/api/export/model", "playground_model.npz");
  exportLink("export-experiment", "/api/export/experiment", "playground.toml");
  exportLink("export-data", "/api/export/data", "playground_data.csv");
  $("export-png").onclick = (e) => {
    e.preventDefault();
    const a = document.createElement("a"); a.href = $("boundary").toDataURL("image/png"); a.download = "playground.png"; a.click();
  };
  $("sample").onchange = () => { if (state.selected) explain(state.selected); };
  start();
}

init();
