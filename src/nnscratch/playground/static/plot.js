// The output plot: the network's output over the plane (class colours, P(class 1), or a regression's
// value on a diverging scale), the points, axes with tick labels, and the colour legend.
import { PALETTE, color } from "./draw.js";

const $ = (id) => document.getElementById(id);
export const PLOT = { left: 38, top: 6, size: 316 }; // the plotted square inside the canvas
const NEG = PALETTE[0], POS = PALETTE[1], MID = [246, 246, 246]; // orange below 0, blue above

// A colour on the diverging scale for t in [-1, 1] (clipped): orange, near-white at 0, blue.
export function diverging(t) {
  const c = Math.max(-1, Math.min(1, Number.isFinite(t) ? t : 0)), end = c < 0 ? NEG : POS, a = Math.abs(c);
  return [0, 1, 2].map((k) => Math.round(MID[k] + (end[k] - MID[k]) * a));
}

// Round tick values covering [lo, hi]: steps of 1, 2 or 5 times a power of ten, at most 1.5 × `count`.
export function niceTicks(lo, hi, count = 5) {
  const span = hi - lo;
  if (!(span > 0) || !Number.isFinite(span)) return [lo];
  const raw = span / count, power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => span / s <= 1.5 * count) || 10 * power;
  const ticks = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9 * span; v += step) ticks.push(Math.abs(v) < 1e-12 * span ? 0 : v);
  return ticks;
}

function tickLabel(v) { return Math.abs(v) >= 1000 || (v !== 0 && Math.abs(v) < 0.01) ? v.toExponential(0) : String(Number(v.toPrecision(3))); }

// The RGBA of one grid cell of the output picture.
function cellColour(d, v, discrete) {
  if (d.boundary_kind === "regression") {
    const t = v / 100 / d.value_range;
    return [...diverging(discrete ? Math.sign(t) : t), 235];
  }
  if (d.boundary_kind === "classes") {
    const conf = (v % 100) / 99;
    return [...PALETTE[Math.floor(v / 100) % PALETTE.length], discrete ? 170 : 60 + 150 * conf];
  }
  const p = v / 100;
  return [...(p >= 0.5 ? PALETTE[1] : PALETTE[0]), discrete ? 170 : Math.min(255, 40 + 340 * Math.abs(p - 0.5))];
}

export function drawBoundary(d, points, view) {
  const canvas = $("boundary"), ctx = canvas.getContext("2d");
  const n = d.grid, img = new ImageData(n, n);
  for (let k = 0; k < n * n; k++) img.data.set(cellColour(d, d.boundary[k], view.discretize), 4 * k);
  const off = document.createElement("canvas"); off.width = n; off.height = n;
  off.getContext("2d").putImageData(img, 0, 0);
  const { left, top, size } = PLOT;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.imageSmoothingEnabled = !view.discretize;
  ctx.drawImage(off, left, top, size, size);
  const [x0, x1, y0, y1] = d.bounds;
  const px = (x) => left + ((x - x0) / (x1 - x0)) * size, py = (y) => top + size - ((y - y0) / (y1 - y0)) * size;
  drawAxes(ctx, d.bounds, px, py);
  if (!points) return;
  const fill = (y) => (d.task === "regression" ? `rgb(${diverging(y / d.value_range).join(",")})` : color(y, 1));
  const dot = (pts, ys, test) => pts.forEach((p, i) => {
    ctx.beginPath(); ctx.arc(px(p[0]), py(p[1]), 3.2, 0, 2 * Math.PI);
    ctx.fillStyle = fill(ys[i]); ctx.fill();
    ctx.lineWidth = test ? 1.6 : 0.8; ctx.strokeStyle = test || d.task === "regression" ? "#000" : "#fff"; ctx.stroke();
  });
  dot(points.train, points.train_y, false);
  if (view.show_test) dot(points.test, points.test_y, true);
}

function drawAxes(ctx, [x0, x1, y0, y1], px, py) {
  const { left, top, size } = PLOT;
  ctx.strokeStyle = "#999"; ctx.lineWidth = 1; ctx.strokeRect(left - 0.5, top - 0.5, size + 1, size + 1);
  ctx.fillStyle = "#444"; ctx.font = "10px sans-serif";
  ctx.textAlign = "center"; ctx.textBaseline = "top";
  for (const v of niceTicks(x0, x1)) {
    const x = px(v); ctx.beginPath(); ctx.moveTo(x, top + size); ctx.lineTo(x, top + size + 4); ctx.stroke();
    ctx.fillText(tickLabel(v), x, top + size + 6);
  }
  ctx.fillText("x₁", left + size - 6, top + size + 17);
  ctx.textAlign = "right"; ctx.textBaseline = "middle";
  for (const v of niceTicks(y0, y1)) {
    const y = py(v); ctx.beginPath(); ctx.moveTo(left - 4, y); ctx.lineTo(left, y); ctx.stroke();
    ctx.fillText(tickLabel(v), left - 6, y);
  }
  ctx.fillText("x₂", left - 6, top + 8);
}

// The legend: what each colour of the plot means.
export function drawLegend(d) {
  const canvas = $("legend"), ctx = canvas.getContext("2d"), { left, size } = PLOT;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.font = "10px sans-serif"; ctx.fillStyle = "#444"; ctx.textBaseline = "top";
  if (d.boundary_kind === "classes") {
    const n = d.layers[d.layers.length - 1];
    for (let c = 0; c < n; c++) {
      const x = left + (c * size) / n;
      ctx.fillStyle = color(c, 0.9); ctx.fillRect(x, 4, 12, 12);
      ctx.fillStyle = "#444"; ctx.textAlign = "left"; ctx.fillText(`class ${c}`, x + 16, 5);
    }
    return;
  }
  const regression = d.boundary_kind === "regression";
  const bar = ctx.createLinearGradient(left, 0, left + size, 0);
  for (let k = 0; k <= 10; k++) {
    const t = k / 5 - 1;
    const rgb = regression ? diverging(t) : t < 0 ? PALETTE[0] : PALETTE[1];
    bar.addColorStop(k / 10, `rgba(${rgb.join(",")},${regression ? 1 : Math.min(1, (40 + 170 * Math.abs(t)) / 255)})`);
  }
  ctx.fillStyle = bar; ctx.fillRect(left, 2, size, 12);
  ctx.fillStyle = "#444";
  const r = d.value_range;
  const labels = regression
    ? [[-r, `${tickLabel(-r)}`], [0, "0  (output value)"], [r, `${tickLabel(r)}`]]
    : [[-1, "P(class 1) = 0"], [0, "0.5"], [1, "1"]];
  for (const [t, text] of labels) {
    const u = regression ? t / r : t;
    ctx.textAlign = u < 0 ? "left" : u > 0 ? "right" : "center";
    ctx.fillText(text, left + ((u + 1) / 2) * size, 17);
  }
}
