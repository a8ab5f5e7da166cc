// The Runs page: every run under RUNS_DIR, refreshed while one trains.
"use strict";
const errorBox = document.getElementById("error");
const container = document.getElementById("runs");
const PREFERRED = ["fid", "kid", "precision", "recall", "density", "coverage", "classes_covered", "class_kl", "is"];

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  Object.entries(attrs).forEach(([k, v]) => (k === "class" ? (node.className = v) : node.setAttribute(k, v)));
  children.forEach(child => node.append(child));
  return node;
}

function figures(evaluation) {
  if (!evaluation) return el("p", { class: "muted" }, "Not evaluated yet: ", el("code", {}, "gankit eval RUN"), " writes its figures.");
  const table = el("table", {}, el("tr", {}, el("th", {}, "figure"), el("th", {}, "run"), el("th", {}, "floor")));
  const metrics = evaluation.metrics || {}, floor = evaluation.floor || {};
  const names = Object.keys(metrics).filter(n => !n.endsWith("_std"))
    .sort((a, b) => (PREFERRED.indexOf(a) + 1 || 99) - (PREFERRED.indexOf(b) + 1 || 99));
  names.forEach(name => table.append(el("tr", {}, el("td", {}, name), el("td", {}, studio.fmt(metrics[name])), el("td", { class: "muted" }, studio.fmt(floor[name])))));
  if (evaluation.modes) {
    const m = evaluation.modes, f = evaluation.modes_floor || {};
    table.append(el("tr", {}, el("td", {}, "modes"), el("td", {}, `${m.modes}/${m.num_modes}`), el("td", { class: "muted" }, f.modes !== undefined ? `${f.modes}/${f.num_modes}` : "–")));
    if (m.high_quality !== null) table.append(el("tr", {}, el("td", {}, "high quality"), el("td", {}, studio.fmt(m.high_quality)), el("td", { class: "muted" }, studio.fmt(f.high_quality))));
  }
  const note = el("p", { class: "muted" }, `${evaluation.num} samples against ${evaluation.dataset}, evaluator ${evaluation.extractor}, ${evaluation.created}`);
  return el("div", {}, table, note);
}

function runPanel(run) {
  const title = el("h2", {}, run.name, el("span", { class: "badge" + (run.training ? " live" : "") }, run.training ? "training" : "idle"),
    el("span", { class: "badge" }, run.step === null ? "no steps logged" : `step ${run.step}`));
  const left = el("div", {}, figures(run.eval));
  const curve = el("canvas", { width: "520", height: "160" });
  left.append(el("h2", {}, "Losses"), curve);
  left.append(el("details", {}, el("summary", {}, "config.yaml"), el("pre", {}, run.config || "(no config.yaml)")));
  const right = el("div", {});
  if (run.grid) {
    right.append(el("h2", {}, `Latest samples · ${run.grid.name}`),
      el("img", { src: `/api/runs/grid?run=${encodeURIComponent(run.name)}&t=${run.grid.mtime}`, alt: `latest sample grid of ${run.name}` }));
  } else right.append(el("p", { class: "muted" }, "No sample grid yet."));
  right.append(el("p", {}, el("a", { class: "button", href: `/sample?run=${encodeURIComponent(run.name)}` }, "Sample this run")));
  run.errors.forEach(message => left.append(el("p", { class: "error" }, message)));
  const panel = el("div", { class: "panel", "data-run": run.name }, title, el("div", { class: "run" }, left, right));
  studio.chart(curve, run.curves, { d_loss: "#2f6fdf", g_loss: "#e8710a" }, { empty: "no losses logged yet" });
  return panel;
}

function showDemo(demo) {
  document.getElementById("demo-command").textContent = demo.command;
  const box = document.getElementById("demo-status");
  box.hidden = demo.state === "none";
  document.getElementById("demo-state").textContent = `state: ${demo.state}`;
  document.getElementById("demo-log").textContent = demo.log || "";
}

let timer = null;
async function refresh() {
  try {
    const data = await studio.get("/api/runs");
    document.getElementById("root").textContent = data.root;
    document.getElementById("empty").hidden = data.runs.length > 0;
    showDemo(data.demo);
    container.replaceChildren(...data.runs.map(runPanel));
    studio.showError(errorBox, null);
    const live = data.runs.some(r => r.training) || data.demo.state === "training";
    clearTimeout(timer);
    timer = setTimeout(refresh, live ? 3000 : 15000);
  } catch (error) { studio.showError(errorBox, error); timer = setTimeout(refresh, 15000); }
}

document.getElementById("demo").addEventListener("click", async () => {
  try { showDemo(await studio.post("/api/runs/demo", {})); setTimeout(refresh, 2000); } catch (error) { studio.showError(errorBox, error); }
});
refresh();
