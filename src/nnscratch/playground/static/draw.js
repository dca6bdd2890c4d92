// Drawing: the decision boundary, the loss curves (downsampled) and the network diagram.

const $ = (id) => document.getElementById(id);
export const PALETTE = [[245, 147, 34], [8, 119, 189], [60, 170, 80], [200, 60, 60], [150, 90, 200], [120, 120, 120]];
const SVGNS = "http://www.w3.org/2000/svg";
const TILE = 30; // neuron tile size when there is room
const MIN_PITCH = 26; // vertical room per neuron: the diagram grows taller rather than overlap

export function color(cls, alpha) { const c = PALETTE[cls % PALETTE.length]; return `rgba(${c[0]},${c[1]},${c[2]},${alpha})`; }

// A number for the stats line: never wider than 10 characters (1.234e+276, not 22 digits).
export function formatNumber(v, pct) {
  if (v === null || v === undefined || !Number.isFinite(v)) return "-";
  if (pct) return (100 * v).toFixed(1) + "%";
  const a = Math.abs(v);
  return a !== 0 && (a >= 1e4 || a < 1e-3) ? v.toExponential(3) : v.toFixed(4);
}

export function drawBoundary(d, points) {
  const canvas = $("boundary"), ctx = canvas.getContext("2d");
  const n = d.grid, img = ctx.createImageData(n, n);
  for (let k = 0; k < n * n; k++) {
    let rgb, a;
    if (d.boundary_kind === "classes") {
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
  if (!points) return;
  const [x0, x1, y0, y1] = d.bounds, W = canvas.width, H = canvas.height;
  const px = (x) => ((x - x0) / (x1 - x0)) * W, py = (y) => H - ((y - y0) / (y1 - y0)) * H;
  const dot = (pts, ys, test) => pts.forEach((p, i) => {
    ctx.beginPath(); ctx.arc(px(p[0]), py(p[1]), 3.2, 0, 2 * Math.PI);
    ctx.fillStyle = color(ys[i], 1); ctx.fill();
    ctx.lineWidth = test ? 1.6 : 0.8; ctx.strokeStyle = test ? "#000" : "#fff"; ctx.stroke();
  });
  dot(points.train, points.train_y, false);
  dot(points.test, points.test_y, true);
}

// Per pixel column: the smallest and largest finite value of the points that fall in it.
export function envelope(values, columns) {
  const n = values.length, lo = new Float64Array(columns).fill(NaN), hi = new Float64Array(columns).fill(NaN);
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (v === null || !Number.isFinite(v)) continue;
    const c = n > 1 ? Math.min(columns - 1, Math.floor((i / (n - 1)) * (columns - 1))) : 0;
    if (!(v >= lo[c])) lo[c] = v;
    if (!(v <= hi[c])) hi[c] = v;
  }
  return { lo, hi };
}

export function drawCurves(curves) {
  const canvas = $("curves"), ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  const cols = canvas.width - 4;
  const series = [[curves.train_loss, "#0877bd"], [curves.test_loss, "#f59322"]].map(([v, c]) => [envelope(v, cols), c]);
  let max = 0;
  for (const [e] of series) for (let c = 0; c < cols; c++) if (e.hi[c] > max) max = e.hi[c];
  if (!(max > 0)) return;
  const y = (v) => canvas.height - 4 - (v / max) * (canvas.height - 8);
  for (const [e, col] of series) {
    ctx.beginPath(); ctx.strokeStyle = col; ctx.lineWidth = 1.5;
    let started = false;
    for (let c = 0; c < cols; c++) {
      if (Number.isNaN(e.lo[c])) continue;
      const x = c + 2;
      if (started) ctx.lineTo(x, y(e.hi[c])); else { ctx.moveTo(x, y(e.hi[c])); started = true; }
      if (e.lo[c] !== e.hi[c]) ctx.lineTo(x, y(e.lo[c]));
    }
    ctx.stroke();
  }
  ctx.fillStyle = "#444"; ctx.font = "11px sans-serif";
  ctx.fillText(`loss (max ${formatNumber(max)}) — train blue, test orange`, 6, 12);
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

function svgEl(tag, attrs) { const e = document.createElementNS(SVGNS, tag); for (const k in attrs) e.setAttribute(k, attrs[k]); return e; }

// Node centres and the tile size: the diagram grows taller with the widest layer, so tiles never overlap.
export function layout(layers, W) {
  const widest = Math.max(...layers);
  const H = Math.max(360, 40 + widest * MIN_PITCH);
  const pitch = Math.min(44, (H - 40) / Math.max(widest, 1));
  const tile = Math.min(TILE, pitch - 4);
  const pos = layers.map((count, l) => Array.from({ length: count }, (_, i) => ({
    x: 30 + (l * (W - 90)) / Math.max(layers.length - 1, 1),
    y: H / 2 + (i - (count - 1) / 2) * pitch,
  })));
  return { H, pos, tile };
}

// `onClick(target, element)` receives {layer, kind, i, j} for a clicked weight or neuron.
export function drawNetwork(d, rebuild, onClick) {
  const svg = $("network");
  const W = Number(svg.getAttribute("width"));
  const { H, pos, tile } = layout(d.layers, W);
  const half = tile / 2;
  if (rebuild) {
    svg.setAttribute("height", H);
    svg.replaceChildren();
    d.weights.forEach((layer, l) => layer.weight.forEach((row, i) => row.forEach((_, j) => {
      const a = pos[l][j], b = pos[l + 1][i];
      const e = svgEl("line", { x1: a.x + half, y1: a.y, x2: b.x - half, y2: b.y, id: `w-${l}-${i}-${j}`, class: "weight" });
      e.addEventListener("click", () => onClick({ layer: l, kind: "weight", i, j }, e));
      svg.appendChild(e);
    })));
    pos.forEach((col, l) => col.forEach((p, i) => {
      const g = svgEl("g", { class: "node", id: `n-${l}-${i}`, transform: `translate(${p.x - half},${p.y - half})` });
      g.appendChild(svgEl("rect", { width: tile, height: tile, fill: "#fff", stroke: "#888" }));
      if (l > 0 && l < pos.length - 1) g.appendChild(svgEl("image", { width: tile, height: tile, class: "map" }));
      else {
        const t = svgEl("text", { x: half, y: half + 4, "text-anchor": "middle", "font-size": Math.min(10, tile / 2) });
        t.textContent = l === 0 ? `x${i}` : pos[l].length > 1 ? `o${i}` : "out";
        g.appendChild(t);
      }
      if (l > 0) g.addEventListener("click", () => onClick({ layer: l - 1, kind: "bias", i }, g));
      svg.appendChild(g);
    }));
  }
  d.weights.forEach((layer, l) => layer.weight.forEach((row, i) => row.forEach((w, j) => {
    const e = $(`w-${l}-${i}-${j}`);
    if (!e) throw new Error(`the diagram has no edge w-${l}-${i}-${j}: the network and its picture disagree`);
    e.setAttribute("stroke", w >= 0 ? color(1, 0.8) : color(0, 0.8));
    e.setAttribute("stroke-width", Math.min(8, 0.5 + 2 * Math.abs(w)).toFixed(2));
    e.setAttribute("data-value", w);
  })));
  d.neurons.forEach((maps, l) => maps.forEach((map, i) => {
    const img = document.querySelector(`#n-${l + 1}-${i} image`);
    if (img) img.setAttribute("href", neuronImage(map, d.neuron_grid));
  }));
}
