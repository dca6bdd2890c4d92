// nnscratch playground front end: plain JavaScript modules, no external libraries (works offline).
import { call, createSession, download, setGoneHandler } from "./api.js";
import { drawCurves, formatNumber } from "./draw.js";
import { MAX_LAYERS, activationSelectors, hiddenTokens, markChanged, readConfig, setHidden, writeConfig } from "./form.js";
import { biasName, drawNetwork, weightName } from "./network.js";
import { drawBoundary, drawLegend } from "./plot.js";
import { applyHash, saveHash } from "./url.js";

const $ = (id) => document.getElementById(id);
const EXPLAIN_HINT = "Click a weight (an edge) or a neuron in the network.";
const state = {
  playing: false, looping: false, data: null, points: null, applied: null, selected: null,
  curves: { train_loss: [], test_loss: [] }, generation: 0, recoveries: 0, updates: [], errors: [], frames: 0,
  drawnWhileTraining: 0, // answers drawn while the next request was already out (item 4 of issue #19)
};
window.__pg = state; // for the end-to-end tests and benchmarks/playground_fps.py
window.addEventListener("error", (e) => state.errors.push(String(e.message)));
window.addEventListener("unhandledrejection", (e) => state.errors.push(String(e.reason)));

function message(text) { $("message").textContent = text || ""; }
function notice(text) { $("notice").textContent = text || ""; }
function view() { return { show_test: $("show_test").checked, discretize: $("discretize").checked }; }

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
  $("weight-edit").classList.add("hidden");
}

const handlers = {
  select: (target, el) => explain(target, el),
  hover: (text) => { $("hover-info").textContent = text; },
  units: (h, delta) => {
    const hidden = hiddenTokens().map(Number);
    hidden[h] = Math.max(1, Math.min(32, hidden[h] + delta));
    setHidden(hidden);
    applyConfig();
  },
};

function drawPlot() {
  if (state.data) drawBoundary(state.data, state.points, view());
}

// Draw a server snapshot. `full`: a new network or data (apply, upload, reset, new session).
function render(data, full) {
  const rebuild = full || !state.data || JSON.stringify(state.data.layers) !== JSON.stringify(data.layers)
    || JSON.stringify(state.data.features) !== JSON.stringify(data.features);
  if (full) {
    state.generation += 1;
    clearExplain();
    if (data.config) { state.applied = data.config; markChanged(state.applied); }
  }
  if (data.points) state.points = data.points;
  takeCurves(data.curves);
  state.data = data;
  const regression = data.task === "regression";
  $("stats").classList.toggle("regression", regression);
  $("plot-title").textContent = regression ? "Output (regression)" : "Decision boundary";
  $("epoch").textContent = data.epoch;
  $("train_loss").textContent = formatNumber(data.train_loss); $("test_loss").textContent = formatNumber(data.test_loss);
  $("train_acc").textContent = formatNumber(data.train_acc, true); $("test_acc").textContent = formatNumber(data.test_acc, true);
  drawBoundary(data, state.points, view()); drawCurves(state.curves); drawNetwork(data, rebuild, handlers);
  if (rebuild) drawLegend(data);
  if (full) saveHash();
  if (data.diverged) { message(data.diverged); setPlaying(false); }
  if (!state.paintPending) { state.paintPending = true; requestAnimationFrame(painted); }
}

// Count a visual update once per painted frame that shows a new answer (two answers drawn within
// one frame are one update: only the last was seen).
function painted() {
  state.paintPending = false;
  const now = performance.now();
  state.frames += 1;
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

// One training request; the answer is drawn by `take` unless the network was replaced meanwhile
// (an answer retried in a re-created session is drawn).
function stepRequest(have) {
  const { generation, recoveries } = state;
  return call("/api/step", { epochs: 1, have }).then((data) => ({ data, generation, recoveries }));
}

function take({ data, generation, recoveries }) {
  if (generation === state.generation || recoveries !== state.recoveries) { render(data); return true; }
  return false;
}

async function trainStep() {
  if (state.playing) return; // the play loop is already training
  take(await stepRequest(state.curves.train_loss.length));
}

function setPlaying(on) {
  state.playing = on;
  $("play").textContent = on ? "pause" : "play";
  $("play").setAttribute("aria-pressed", String(on));
  if (on && !state.looping) loop(); // a loop still waiting for its answer carries on: never two
}

// While playing: the next request goes out as soon as an answer arrives, and the page draws that
// answer while the server trains — at most one request in flight, plus the drawing.
async function loop() {
  state.looping = true;
  let pending = null;
  try {
    while (state.playing) {
      if (!pending) pending = stepRequest(state.curves.train_loss.length);
      let answer;
      try { answer = await pending; } catch (e) { message(e.message); setPlaying(false); break; }
      const c = answer.data.curves;
      pending = state.playing ? stepRequest(c.start + c.train_loss.length) : null;
      if (take(answer) && pending) state.drawnWhileTraining += 1;
      // no wait for a frame here: the browser paints while the next answer is on its way
    }
  } finally {
    state.looping = false;
    if (pending) pending.catch(() => null);
  }
}

async function explain(target, el) {
  document.querySelectorAll(".selected").forEach((e) => e.classList.remove("selected"));
  if (el) el.classList.add("selected");
  state.selected = target;
  const W = state.data.weights[target.layer];
  const value = target.kind === "weight" ? W.weight[target.i][target.j] : W.bias[target.i];
  $("weight-name").textContent = target.kind === "weight" ? weightName(target.layer, target.i, target.j) : biasName(target.layer, target.i);
  $("weight-value").value = String(value);
  $("weight-edit").classList.remove("hidden");
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

// Set the selected weight (or bias) to the value typed; the server checks it, then everything redraws.
async function setWeight() {
  const target = state.selected;
  if (!target) return;
  await guarded(async () => {
    const raw = $("weight-value").value.trim(), value = Number(raw);
    if (raw === "" || !Number.isFinite(value)) throw new Error(`${$("weight-name").textContent}: enter a number`);
    message("");
    render(await call("/api/weight", { ...target, value }));
    const el = target.kind === "weight" ? $(`w-${target.layer}-${target.i}-${target.j}`) : $(`n-${target.layer + 1}-${target.i}`);
    await explain(target, el);
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

// The first session: with the URL's settings when it has any (values the page cannot use are
// left out and named; settings the server refuses give way to the defaults, with a notice).
async function start() {
  setGoneHandler(recreate);
  const defaults = readConfig().config;
  const ignored = location.hash.length > 1 ? applyHash(location.hash) : [];
  if (ignored.includes("dataset=upload")) ignored.splice(ignored.indexOf("dataset=upload"), 1);
  if ($("dataset").value === "upload") { $("dataset").value = defaults.dataset; ignored.push("dataset=upload (upload the CSV again)"); }
  if (ignored.length) notice(`The link's settings ${ignored.join(", ")} were not usable and were left out.`);
  await guarded(async () => {
    const { config, error } = readConfig();
    try {
      render(await createSession(error ? defaults : config), true);
    } catch (e) {
      writeConfig(defaults);
      notice(`The link's settings were refused (${e.message}); the page starts with the defaults.`);
      render(await createSession(defaults), true);
    }
  });
}

function changeLayers(delta) {
  const hidden = hiddenTokens().map(Number);
  if (delta > 0 && hidden.length < MAX_LAYERS) hidden.push(hidden.length ? hidden[hidden.length - 1] : 4);
  else if (delta < 0 && hidden.length) hidden.pop();
  else return;
  setHidden(hidden);
  applyConfig();
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
  $("regenerate").onclick = () => {
    $("seed").value = String(Math.floor(Math.random() * 2 ** 31));
    applyConfig();
  };
  $("add-layer").onclick = () => changeLayers(1);
  $("remove-layer").onclick = () => changeLayers(-1);
  for (const id of ["show_test", "discretize"]) $(id).addEventListener("change", () => { drawPlot(); saveHash(); });
  $("weight-set").onclick = setWeight;
  $("weight-value").addEventListener("keydown", (e) => { if (e.key === "Enter") setWeight(); });
  $("upload").onchange = () => guarded(async () => {
    const f = $("upload").files[0]; if (!f) return;
    message("");
    await upload(f);
  });
  const exportLink = (id, path, name) => { $(id).onclick = () => guarded(() => download(path, name)); };
  exportLink("export-model", "/api/export/model", "playground_model.npz");
  exportLink("export-experiment", "/api/export/experiment", "playground.toml");
  exportLink("export-data", "/api/export/data", "playground_data.csv");
  $("export-png").onclick = () => {
    const a = document.createElement("a"); a.href = $("boundary").toDataURL("image/png"); a.download = "playground.png"; a.click();
  };
  $("copy-link").onclick = () => {
    saveHash();
    const done = () => notice("The link to these settings is in the address bar (and copied).");
    if (navigator.clipboard) navigator.clipboard.writeText(location.href).then(done, () => notice("Copy the address bar: it holds these settings."));
    else done();
  };
  $("sample").onchange = () => { if (state.selected) explain(state.selected); };
  start();
}

init();
