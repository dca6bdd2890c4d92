// The settings form: read and check it, fill it from the server's settings, mark unapplied changes.

const $ = (id) => document.getElementById(id);
const ACTS = ["tanh", "relu", "sigmoid", "leaky_relu", "identity"];

// Number fields: [element id, setting, label shown in messages, whole number?]
const NUMBERS = [
  ["noise", "noise", "noise", false], ["n_samples", "n_samples", "points", true],
  ["test_pct", "test_fraction", "test %", false], ["n_classes", "n_classes", "classes", true],
  ["lr", "lr", "lr", false], ["momentum", "momentum", "momentum", false],
  ["batch_size", "batch_size", "batch", true], ["seed", "seed", "seed", true],
];
export const MAX_LAYERS = 6, MAX_UNITS = 32; // the server's limits (settings.py)

export function featureBoxes() { return Array.from(document.querySelectorAll("#features input.feature")); }

export function hiddenTokens() {
  const text = $("hidden").value.trim();
  return text ? text.split(",").map((t) => t.trim()) : [];
}

export function activationSelectors() {
  const count = hiddenTokens().length;
  const box = $("act-list");
  const old = Array.from(box.querySelectorAll("select")).map((s) => s.value);
  box.replaceChildren();
  for (let i = 0; i < count; i++) {
    const label = document.createElement("label");
    label.textContent = `act ${i + 1} `;
    const sel = document.createElement("select");
    sel.className = "act";
    ACTS.forEach((a) => { const o = document.createElement("option"); o.textContent = a; sel.appendChild(o); });
    sel.value = old[i] || "tanh";
    label.appendChild(sel);
    box.appendChild(label);
  }
}

// The form as settings, or the first mistake in words: {config} or {error}.
export function readConfig() {
  const config = { dataset: $("dataset").value, output: $("output").value, optimizer: $("optimizer").value };
  for (const [id, key, label, whole] of NUMBERS) {
    const raw = $(id).value.trim();
    const v = Number(raw);
    if (raw === "" || !Number.isFinite(v)) return { error: `${label}: enter a number` };
    if (whole && !Number.isInteger(v)) return { error: `${label}: enter a whole number. Received: ${raw}` };
    config[key] = key === "test_fraction" ? v / 100 : v;
  }
  const hidden = [];
  for (const t of hiddenTokens()) {
    if (!/^\d+$/.test(t)) return { error: `hidden units: each layer needs a whole number of units (1 to 32), comma separated. Received: "${t}"` };
    hidden.push(Number(t));
  }
  config.hidden = hidden;
  config.activations = Array.from(document.querySelectorAll("#act-list select")).map((s) => s.value);
  config.features = featureBoxes().filter((b) => b.checked).map((b) => b.value);
  if (!config.features.length) return { error: "features: tick at least one input feature" };
  const rate = Number($("reg_rate").value.trim()), reg = $("reg").value;
  if ($("reg_rate").value.trim() === "" || !Number.isFinite(rate)) return { error: "regularisation rate: enter a number" };
  config.l1 = reg === "l1" ? rate : 0;
  config.l2 = reg === "l2" ? rate : 0;
  return { config };
}

// Fill the form with settings the server confirmed (after a recovery or an upload).
export function writeConfig(c) {
  $("dataset").value = c.dataset; $("output").value = c.output; $("optimizer").value = c.optimizer;
  for (const [id, key] of NUMBERS) $(id).value = key === "test_fraction" ? String(Math.round(c[key] * 1000) / 10) : String(c[key]);
  setHidden(c.hidden, c.activations);
  featureBoxes().forEach((b) => { b.checked = c.features.includes(b.value); });
  $("reg").value = c.l1 > 0 ? "l1" : c.l2 > 0 ? "l2" : "none";
  $("reg_rate").value = String(c.l1 > 0 ? c.l1 : c.l2);
}

// Put `hidden` (units per layer) in the form, with `activations` or the ones already chosen.
export function setHidden(hidden, activations) {
  $("hidden").value = hidden.join(",");
  activationSelectors();
  if (activations) document.querySelectorAll("#act-list select").forEach((s, i) => { s.value = activations[i]; });
}

function same(a, b) {
  return Object.keys(b).every((k) => (typeof b[k] === "number" ? Math.abs(a[k] - b[k]) < 1e-9 : JSON.stringify(a[k]) === JSON.stringify(b[k])));
}

// Mark the apply button when the form differs from the settings the network was built with.
export function markChanged(applied) {
  const { config } = readConfig();
  const changed = Boolean(applied) && (!config || !same(config, applied));
  $("apply").classList.toggle("changed", changed);
  $("changed").textContent = changed ? "settings changed: press apply" : "";
  return changed;
}
