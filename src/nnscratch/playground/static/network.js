// The network diagram: input features (with their pictures), hidden neurons (each one's output over
// the plane), output units and an edge per weight, coloured and sized by the weight. Edges and
// neurons are keyboard-reachable buttons; hovering or focusing an edge shows its weight.
import { PALETTE, color } from "./draw.js";

const $ = (id) => document.getElementById(id);
const SVGNS = "http://www.w3.org/2000/svg";
const TILE = 30; // neuron tile size when there is room
const MIN_PITCH = 26; // vertical room per neuron: the diagram grows taller rather than overlap
const LEFT = 70; // room for the input features' names
const FEATURE_NAMES = { x1: "x₁", x2: "x₂", "x1^2": "x₁²", "x2^2": "x₂²", "x1*x2": "x₁x₂", "sin(x1)": "sin x₁", "sin(x2)": "sin x₂" };

export function featureName(f) { return FEATURE_NAMES[f] || f; }
export function weightName(l, i, j) { return `W⁽${l + 1}⁾[${i},${j}]`; }
export function biasName(l, i) { return `b⁽${l + 1}⁾[${i}]`; }

// Paint a map of -100..100 values (orange negative, blue positive) into the node's own canvas: no
// image encoding per frame (the canvases lie over the diagram and let clicks through to it).
function paintMap(id, map, n) {
  const canvas = $(id);
  if (!canvas) return;
  const ctx = canvas.getContext("2d"), img = ctx.createImageData(n, n), px = img.data;
  for (let k = 0; k < map.length; k++) {
    const v = map[k], rgb = v >= 0 ? PALETTE[1] : PALETTE[0];
    px[4 * k] = rgb[0]; px[4 * k + 1] = rgb[1]; px[4 * k + 2] = rgb[2]; px[4 * k + 3] = Math.min(255, Math.abs(v) * 2.3);
  }
  ctx.putImageData(img, 0, 0);
}

function mapCanvases(d, pos, tile) {
  const box = $("maps");
  box.replaceChildren();
  pos.slice(0, -1).forEach((col, l) => col.forEach((p, i) => {
    const c = document.createElement("canvas");
    c.width = d.neuron_grid; c.height = d.neuron_grid; c.id = `map-${l}-${i}`; c.className = "map";
    c.style.left = `${p.x - tile / 2}px`; c.style.top = `${p.y - tile / 2}px`;
    c.style.width = `${tile}px`; c.style.height = `${tile}px`;
    box.appendChild(c);
  }));
}

function svgEl(tag, attrs) { const e = document.createElementNS(SVGNS, tag); for (const k in attrs) e.setAttribute(k, attrs[k]); return e; }

// Node centres and the tile size: the diagram grows taller with the widest layer, so tiles never overlap.
export function layout(layers, W) {
  const widest = Math.max(...layers);
  const H = Math.max(360, 40 + widest * MIN_PITCH);
  const pitch = Math.min(44, (H - 40) / Math.max(widest, 1));
  const tile = Math.min(TILE, pitch - 4);
  const pos = layers.map((count, l) => Array.from({ length: count }, (_, i) => ({
    x: LEFT + (l * (W - LEFT - 40)) / Math.max(layers.length - 1, 1),
    y: H / 2 + (i - (count - 1) / 2) * pitch,
  })));
  return { H, pos, tile };
}

// Enter or Space on a focused diagram element acts as a click.
function asButton(el, label, action) {
  el.setAttribute("tabindex", "0"); el.setAttribute("role", "button"); el.setAttribute("aria-label", label);
  el.addEventListener("click", action);
  el.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); action(); } });
}

// The +/− unit buttons above each hidden layer.
function layerButtons(d, pos, units) {
  const box = $("layer-buttons");
  box.replaceChildren();
  for (let h = 0; h < d.layers.length - 2; h++) {
    const group = document.createElement("span");
    group.className = "layer-units";
    group.style.left = `${pos[h + 1][0].x - 34}px`;
    const n = d.layers[h + 1];
    for (const [text, delta, what] of [["−", -1, "remove a unit from"], ["+", 1, "add a unit to"]]) {
      const b = document.createElement("button");
      b.type = "button"; b.className = "icon"; b.textContent = text; b.id = `units-${h}-${delta > 0 ? "add" : "remove"}`;
      b.setAttribute("aria-label", `${what} hidden layer ${h + 1} (now ${n} units)`);
      b.disabled = delta < 0 ? n <= 1 : n >= 32;
      b.addEventListener("click", () => units(h, delta));
      group.appendChild(b);
    }
    const label = document.createElement("small"); label.textContent = ` ${n}`;
    group.appendChild(label);
    box.appendChild(group);
  }
}

// `handlers`: select(target, element) for a clicked weight or neuron ({layer, kind, i, j}),
// hover(text) for the weight under the pointer, units(hiddenLayer, ±1) for the unit buttons.
export function drawNetwork(d, rebuild, handlers) {
  const svg = $("network");
  const W = Number(svg.getAttribute("width"));
  const { H, pos, tile } = layout(d.layers, W);
  const half = tile / 2;
  if (rebuild) {
    svg.setAttribute("height", H);
    svg.replaceChildren();
    layerButtons(d, pos, handlers.units);
    d.weights.forEach((layer, l) => layer.weight.forEach((row, i) => row.forEach((_, j) => {
      const a = pos[l][j], b = pos[l + 1][i];
      const e = svgEl("line", { x1: a.x + half, y1: a.y, x2: b.x - half, y2: b.y, id: `w-${l}-${i}-${j}`, class: "weight" });
      const title = svgEl("title", {});
      e.appendChild(title);
      const show = () => {
        const text = `${weightName(l, i, j)} = ${e.getAttribute("data-value")}`;
        title.textContent = text; handlers.hover(text);
      };
      e.addEventListener("mouseenter", show); e.addEventListener("focus", show);
      e.addEventListener("mouseleave", () => handlers.hover(""));
      asButton(e, `weight ${weightName(l, i, j)}`, () => handlers.select({ layer: l, kind: "weight", i, j }, e));
      svg.appendChild(e);
    })));
    pos.forEach((col, l) => col.forEach((p, i) => {
      const g = svgEl("g", { class: "node", id: `n-${l}-${i}`, transform: `translate(${p.x - half},${p.y - half})` });
      g.appendChild(svgEl("rect", { width: tile, height: tile, fill: "#fff", stroke: "#888" }));
      if (l === pos.length - 1) {
        const t = svgEl("text", { x: half, y: half + 4, "text-anchor": "middle", "font-size": Math.min(10, tile / 2) });
        t.textContent = pos[l].length > 1 ? `o${i}` : "out";
        g.appendChild(t);
      }
      if (l === 0) {
        const t = svgEl("text", { x: -4, y: half + 4, "text-anchor": "end", "font-size": 11, class: "feature-name" });
        t.textContent = featureName(d.features[i]);
        g.appendChild(t);
        g.setAttribute("aria-label", `input feature ${featureName(d.features[i])}`);
      } else {
        asButton(g, `neuron ${i} of layer ${l}: bias ${biasName(l - 1, i)}`, () => handlers.select({ layer: l - 1, kind: "bias", i }, g));
      }
      svg.appendChild(g);
    }));
    mapCanvases(d, pos, tile);
    d.inputs.forEach((map, i) => paintMap(`map-0-${i}`, map, d.neuron_grid));
  }
  d.weights.forEach((layer, l) => layer.weight.forEach((row, i) => row.forEach((w, j) => {
    const e = $(`w-${l}-${i}-${j}`);
    if (!e) throw new Error(`the diagram has no edge w-${l}-${i}-${j}: the network and its picture disagree`);
    e.setAttribute("stroke", w >= 0 ? color(1, 0.8) : color(0, 0.8));
    e.setAttribute("stroke-width", Math.min(8, 0.8 + 2 * Math.abs(w)).toFixed(2));
    e.setAttribute("data-value", w);
  })));
  d.neurons.forEach((maps, l) => maps.forEach((map, i) => paintMap(`map-${l + 1}-${i}`, map, d.neuron_grid)));
}
