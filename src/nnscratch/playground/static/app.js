// nnscratch playground front end: plain JavaScript, no external libraries (works offline).
"use strict";

const $ = (id) => document.getElementById(id);
const sid = (window.crypto && crypto.randomUUID) ? crypto.randomUUID()
  : Array.from({ length: 4 }, () => Math.random().toString(36).slice(2)).join("");
const ACTS = ["tanh", "relu", "sigmoid", "leaky_relu", "identity"];
const PALETTE = [[245, 147, 34], [8, 119, 189], [60, 170, 80], [200, 60, 60], [150, 90, 200], [120, 120, 120]];
const state = { playing: false, data: null, points: null, selected: null, updates: [], busy: false };
window.__pg = state; // for the end-to-end tests

function message(text) { $("message").textContent = text || ""; }

async function api(path, payload) {
  const opts = { method: payload === undefined ? "GET" : "POST", headers: { "X-Session": sid } };
  if (payload instanceof FormData) opts.body = payload;
  else if (payload !== undefined) { opts.headers["Content-Type"] = "application/json"; opts.body = JSON.stringify(payload); }
  let res;
  try { res = await fetch(path, opts); } catch (e) { throw new Error("the server cannot be reached: " + e.message); }
  let data;
  try { data = await res.json(); } catch (e) { throw new Error(`the server answered ${res.status} without JSON`); }
  if (!res.ok) throw new Error(data.error || `request failed (${res.status})`);
  return data;
}

function activationSelectors() {
  const hidden = parseHidden();
  const box = $("act-list");
  const old = Array.from(box.querySelectorAll("select")).map((s) => s.value);
  box.innerHTML = "";
  hidden.forEach((_, i) => {
    const label = document.createElement("label");
    label.textContent = `act ${i + 1} `;
    const sel = document.createElement("select");
    sel.className = "act";
    ACTS.forEach((a) => { const o = document.createElement("option"); o.textContent = a; sel.appendChild(o); });
    sel.value = old[i] || "tanh";
    label.appendChild(sel);
    box.appendChild(label);
  });
}

function parseHidden() {
  const text = $("hidden").value.trim();
  if (!text) return [];
  return text.split(",").map((t) => Number(t.trim()));
}

function readConfig() {
  return {
    dataset: $("dataset").value, noise: Number($("noise").value), n_samples: Number($("n_samples").value),
    test_fraction: Number($("test_pct").value) / 100, n_classes: Number($("n_classes").value),
    hidden: parseHidden(), activations: Array.from(document.querySelectorAll("#act-list select")).map((s) => s.value),
    output: $("output").value, optimizer: $("optimizer").value, lr: Number($("lr").value),
    momentum: Number($("momentum").value), l2: Number($("l2").value), batch_size: Number($("batch_size").value),
    seed: Number($("seed").value),
  };
}

function color(cls, alpha) { const c = PALETTE[cls % PALETTE.length]; return `rgba(${c[0]},${c[1]},${c[2]},${alpha})`; }

function drawBoundary() {
  const d = state.data, canvas = $("boundary"), ctx = canvas.getContext("2d");
  const n = d.grid, img = ctx.createImageData(n, n);
  for (let k = 0; k < n * n; k++) {
    let rgb, a;
    if (d.output === "softmax") {
      const cls = Math.floor(d.boundary[k] / 100), conf = (d.boundary[k] % 100) / 99;
      rgb = PALETTE[cls % PALETTE.length]; a = 60 + 150 * conf;
    } else {
      const p = d.boundary[k] / 100;
      rgb = p >= 0.5 ? PALETTE[1] : PALETTE[0]; a = 40 + 340 * Math.abs(p - 0.5);
    }
    img.data.set([rgb[0], rgb[1], rgb[2], Math.min(255, a)], 4 * k);
  }
  const off = document.createElement("canvas"); off.width = n; off.height = n;
  off.getContext("2d").putImageData(img, 0, 0);
  ctx.imageSmoothingEnabled = true;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.drawImage(off, 0, 0, canvas.width, canvas.height);
  if (!state.points) return;
  const [x0, x1, y0, y1] = d.bounds, W = canvas.width, H = canvas.height;
  const px = (x) => ((x - x0) / (x1 - x0)) * W, py = (y) => H - ((y - y0) / (y1 - y0)) * H;
  const dot = (pts, ys, test) => pts.forEach((p, i) => {
    ctx.beginPath(); ctx.arc(px(p[0]), py(p[1]), 3.2, 0, 2 * Math.PI);
    ctx.fillStyle = color(ys[i], 1); ctx.fill();
    ctx.lineWidth = test ? 1.6 : 0.8; ctx.strokeStyle = test ? "#000" : "#fff"; ctx.stroke();
  });
  dot(state.points.train, state.points.train_y, false);
  dot(state.points.test, state.points.test_y, true);
}

function drawCurves() {
  const c = state.data.curves, canvas = $("curves"), ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  const all = c.train_loss.concat(c.test_loss).filter((v) => v !== null && isFinite(v));
  if (!all.length) return;
  const max = Math.max(...all) || 1, n = Math.max(c.train_loss.length - 1, 1);
  const line = (vals, col) => {
    ctx.beginPath(); ctx.strokeStyle = col; ctx.lineWidth = 1.5;
    vals.forEach((v, i) => { if (v === null) return; const x = (i / n) * (canvas.width - 4) + 2, y = canvas.height - 4 - (v / max) * (canvas.height - 8); i ? ctx.lineTo(x, y) : ctx.moveTo(x, y); });
    ctx.stroke();
  };
  line(c.train_loss, "#0877bd"); line(c.test_loss, "#f59322");
  ctx.fillStyle = "#444"; ctx.font = "11px sans-serif";
  ctx.fillText(`loss (max ${max.toPrecision(3)}) — train blue, test orange`, 6, 12);
}

function neuronImage(map, n) {
  const off = document.createElement("canvas"); off.width = n; off.height = n;
  const ctx = off.getContext("2d"), img = ctx.createImageData(n, n);
  map.forEach((v, k) => {
    const rgb = v >= 0 ? PALETTE[1] : PALETTE[0];
    img.data.set([rgb[0], rgb[1], rgb[2], Math.min(255, Math.abs(v) * 2.3)], 4 * k);
  });
  ctx.putImageData(img, 0, 0);
  return off.toDataURL();
}

const SVGNS = "http://www.w3.org/2000/svg";
function svgEl(tag, attrs) { const e = document.createElementNS(SVGNS, tag); for (const k in attrs) e.setAttribute(k, attrs[k]); return e; }

function nodePositions(layers, W, H) {
  return layers.map((count, l) => Array.from({ length: count }, (_, i) => ({
    x: 30 + (l * (W - 90)) / Math.max(layers.length - 1, 1),
    y: H / 2 + (i - (count - 1) / 2) * Math.min(44, (H - 40) / Math.max(count, 1)),
  })));
}

function drawNetwork(rebuild) {
  const d = state.data, svg = $("network");
  const W = Number(svg.getAttribute("width")), H = Number(svg.getAttribute("height"));
  const pos = nodePositions(d.layers, W, H);
  if (rebuild) {
    svg.innerHTML = "";
    d.weights.forEach((layer, l) => layer.weight.forEach((row, i) => row.forEach((_, j) => {
      const a = pos[l][j], b = pos[l + 1][i];
      const e = svgEl("line", { x1: a.x + 15, y1: a.y, x2: b.x - 15, y2: b.y, id: `w-${l}-${i}-${j}`, "data-layer": l, "data-i": i, "data-j": j, class: "weight" });
      e.addEventListener("click", () => explain({ layer: l, kind: "weight", i, j }, e));
      svg.appendChild(e);
    })));
    pos.forEach((col, l) => col.forEach((p, i) => {
      const g = svgEl("g", { class: "node", id: `n-${l}-${i}`, transform: `translate(${p.x - 15},${p.y - 15})` });
      g.appendChild(svgEl("rect", { width: 30, height: 30, fill: "#fff", stroke: "#888" }));
      if (l > 0 && l < pos.length - 1) g.appendChild(svgEl("image", { width: 30, height: 30, class: "map" }));
      else { const t = svgEl("text", { x: 15, y: 19, "text-anchor": "middle", "font-size": 10 }); t.textContent = l === 0 ? `x${i}` : "out"; g.appendChild(t); }
      if (l > 0) g.addEventListener("click", () => explain({ layer: l - 1, kind: "bias", i }, g));
      svg.appendChild(g);
    }));
  }
  d.weights.forEach((layer, l) => layer.weight.forEach((row, i) => row.forEach((w, j) => {
    const e = $(`w-${l}-${i}-${j}`);
    e.setAttribute("stroke", w >= 0 ? color(1, 0.8) : color(0, 0.8));
    e.setAttribute("stroke-width", Math.min(8, 0.5 + 2 * Math.abs(w)).toFixed(2));
    e.setAttribute("data-value", w);
  })));
  d.neurons.forEach((maps, l) => maps.forEach((map, i) => {
    const img = document.querySelector(`#n-${l + 1}-${i} image`);
    if (img) img.setAttribute("href", neuronImage(map, d.neuron_grid));
  }));
}

function render(data, full) {
  const rebuild = full || !state.data || JSON.stringify(state.data.layers) !== JSON.stringify(data.layers);
  if (data.points) state.points = data.points;
  state.data = data;
  const fmt = (v, pct) => (v === null || v === undefined ? "-" : pct ? (100 * v).toFixed(1) + "%" : v.toFixed(4));
  $("epoch").textContent = data.epoch;
  $("train_loss").textContent = fmt(data.train_loss); $("test_loss").textContent = fmt(data.test_loss);
  $("train_acc").textContent = fmt(data.train_acc, true); $("test_acc").textContent = fmt(data.test_acc, true);
  drawBoundary(); drawCurves(); drawNetwork(rebuild);
  if (data.diverged) { message(data.diverged); setPlaying(false); }
  const now = performance.now();
  state.updates.push(now);
  while (state.updates.length && now - state.updates[0] > 1000) state.updates.shift();
  $("ups").textContent = state.updates.length;
}

async function guarded(fn) {
  try { await fn(); } catch (e) { message(e.message); setPlaying(false); }
}

async function applyConfig() {
  await guarded(async () => { message(""); render(await api("/api/config", readConfig()), true); });
}

function setPlaying(on) { state.playing = on; $("play").textContent = on ? "pause" : "play"; if (on) loop(); }

async function loop() {
  while (state.playing) {
    try { render(await api("/api/step", { epochs: 1 })); }
    catch (e) { message(e.message); setPlaying(false); }
  }
}

async function explain(target, el) {
  document.querySelectorAll(".selected").forEach((e) => e.classList.remove("selected"));
  if (el) el.classList.add("selected");
  state.selected = target;
  await guarded(async () => {
    const res = await api("/api/explain", { ...target, sample: Number($("sample").value) });
    const pre = $("explain-text");
    pre.textContent = "";
    res.text.split("\u0001").forEach((part, k) => {
      if (k % 2) { const m = document.createElement("mark"); m.textContent = part; pre.appendChild(m); }
      else pre.appendChild(document.createTextNode(part));
    });
    const mark = pre.querySelector("mark");
    if (mark) mark.scrollIntoView({ block: "nearest" });
  });
}

async function download(path, name) {
  await guarded(async () => {
    const res = await fetch(path, { headers: { "X-Session": sid } });
    if (!res.ok) { let m = `export failed (${res.status})`; try { m = (await res.json()).error || m; } catch (e) { /* keep */ } throw new Error(m); }
    const blob = await res.blob(), a = document.createElement("a");
    a.href = URL.createObjectURL(blob); a.download = name; a.click();
  });
}

function init() {
  $("hidden").addEventListener("change", activationSelectors);
  activationSelectors();
  $("apply").onclick = applyConfig;
  $("play").onclick = () => setPlaying(!state.playing);
  $("step").onclick = () => guarded(async () => render(await api("/api/step", { epochs: 1 })));
  $("reset").onclick = () => guarded(async () => { message(""); render(await api("/api/reset", {}), true); });
  $("upload").onchange = () => guarded(async () => {
    const f = $("upload").files[0]; if (!f) return;
    const form = new FormData(); form.append("file", f);
    message("");
    render(await api("/api/upload", form), true);
    $("dataset").value = "upload";
  });
  $("export-model").onclick = (e) => { e.preventDefault(); download("/api/export/model", "playground_model.npz"); };
  $("export-experiment").onclick = (e) => { e.preventDefault(); download("/api/export/experiment", "playground.toml"); };
  $("export-data").onclick = (e) => { e.preventDefault(); download("/api/export/data", "playground_data.csv"); };
  $("export-png").onclick = (e) => {
    e.preventDefault();
    const a = document.createElement("a"); a.href = $("boundary").toDataURL("image/png"); a.download = "playground.png"; a.click();
  };
  $("sample").onchange = () => { if (state.selected) explain(state.selected); };
  applyConfig();
}

init();
