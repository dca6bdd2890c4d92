// Drawing helpers: the palette, numbers for the stats line, and the loss curves (downsampled).
// The output plot is in plot.js, the network diagram in network.js.

const $ = (id) => document.getElementById(id);
export const PALETTE = [[245, 147, 34], [8, 119, 189], [60, 170, 80], [200, 60, 60], [150, 90, 200], [120, 120, 120]];

export function color(cls, alpha) { const c = PALETTE[cls % PALETTE.length]; return `rgba(${c[0]},${c[1]},${c[2]},${alpha})`; }

// A number for the stats line: never wider than 10 characters (1.234e+276, not 22 digits).
export function formatNumber(v, pct) {
  if (v === null || v === undefined || !Number.isFinite(v)) return "-";
  if (pct) return (100 * v).toFixed(1) + "%";
  const a = Math.abs(v);
  return a !== 0 && (a >= 1e4 || a < 1e-3) ? v.toExponential(3) : v.toFixed(4);
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
