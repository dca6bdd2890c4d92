// The page's whole state in the URL's hash (#dataset=xor&hidden=4,4&...): copy the address to share
// it; opening it restores the settings. A value the page cannot use is left out and named.
import { MAX_LAYERS, MAX_UNITS, featureBoxes, readConfig, setHidden } from "./form.js";

const $ = (id) => document.getElementById(id);
// key in the URL -> [element id, lowest, highest] (the server's ranges, settings.py)
const FIELDS = {
  dataset: ["dataset"], noise: ["noise", 0, 2], n_samples: ["n_samples", 8, 5000], test_pct: ["test_pct", 0, 90],
  n_classes: ["n_classes", 2, 6], seed: ["seed", 0, 2 ** 32 - 1], output: ["output"], optimizer: ["optimizer"],
  lr: ["lr", 1e-12, 10], momentum: ["momentum", 0, 0.999], reg: ["reg"], reg_rate: ["reg_rate", 0, 10],
  batch_size: ["batch_size", 1, 5000],
};
const TOGGLES = ["show_test", "discretize"];

// The hash for the form's current settings and view toggles.
export function currentHash() {
  const q = new URLSearchParams();
  for (const [key, [id]] of Object.entries(FIELDS)) q.set(key, $(id).value);
  q.set("hidden", $("hidden").value.replace(/\s+/g, ""));
  q.set("activations", Array.from(document.querySelectorAll("#act-list select")).map((s) => s.value).join(","));
  q.set("features", featureBoxes().filter((b) => b.checked).map((b) => b.value).join(","));
  for (const t of TOGGLES) q.set(t, $(t).checked ? "1" : "0");
  return "#" + q.toString();
}

function listOf(text) { return text === "" ? [] : text.split(","); }

// Set one URL entry into the form; false (and the form unchanged) when it is not usable.
function applyOne(key, value) {
  if (TOGGLES.includes(key)) {
    if (value !== "0" && value !== "1") return false;
    $(key).checked = value === "1";
    return true;
  }
  if (key === "features") {
    const names = listOf(value), boxes = featureBoxes(), known = boxes.map((b) => b.value);
    if (!names.length || names.some((n) => !known.includes(n)) || new Set(names).size !== names.length) return false;
    boxes.forEach((b) => { b.checked = names.includes(b.value); });
    return true;
  }
  if (key === "hidden") {
    const units = listOf(value);
    if (units.length > MAX_LAYERS || units.some((u) => !/^\d+$/.test(u) || Number(u) < 1 || Number(u) > MAX_UNITS)) return false;
    setHidden(units.map(Number));
    return true;
  }
  if (key === "activations") {
    const acts = listOf(value), selects = Array.from(document.querySelectorAll("#act-list select"));
    if (acts.length !== selects.length) return false;
    const old = selects.map((s) => s.value);
    selects.forEach((s, i) => { s.value = acts[i]; });
    if (selects.some((s, i) => s.value !== acts[i])) { selects.forEach((s, i) => { s.value = old[i]; }); return false; }
    return true;
  }
  const field = FIELDS[key];
  if (!field) return false;
  const [id, low, high] = field, el = $(id), old = el.value;
  if (low !== undefined) {
    const v = Number(value);
    if (value.trim() === "" || !Number.isFinite(v) || v < low || v > high) return false;
  }
  el.value = value;
  if (el.value !== value || readConfig().error) { el.value = old; return false; }
  return true;
}

// Put the hash's settings into the form; the keys left out, as "key=value" texts.
export function applyHash(hash) {
  const ignored = [];
  const q = new URLSearchParams(hash.replace(/^#/, ""));
  // hidden before activations: the activation selectors follow the number of layers
  const entries = Array.from(q.entries()).sort(([a], [b]) => (a === "hidden" ? -1 : b === "hidden" ? 1 : 0));
  for (const [key, value] of entries) if (!applyOne(key, value)) ignored.push(`${key}=${value}`.slice(0, 60));
  return ignored;
}

export function saveHash() {
  const hash = currentHash();
  if (location.hash !== hash) history.replaceState(null, "", hash);
}
