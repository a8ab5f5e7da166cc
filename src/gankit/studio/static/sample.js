// The Sample page: a grid of samples of a run for a seed, number, truncation and class; PNG and NPZ downloads.
"use strict";
const errorBox = document.getElementById("error");
const $ = id => document.getElementById(id);

function query(format, download) {
  const params = new URLSearchParams({ run: $("run").value, seed: $("seed").value, num: $("num").value, format });
  if ($("truncation").value) params.set("truncation", $("truncation").value);
  if (!$("class-box").hidden && $("class").value !== "") params.set("class", $("class").value);
  if (download) params.set("download", "1");
  return params;
}

function command() {
  let text = `gankit sample RUNS_DIR/${$("run").value} --seed ${$("seed").value} --num ${$("num").value}`;
  if ($("truncation").value) text += ` --truncation ${$("truncation").value}`;
  if (!$("class-box").hidden && $("class").value !== "") text += ` --class ${$("class").value}`;
  return text + " --out samples.png";
}

let latest = 0;  // the newest request: an older answer that arrives later is dropped
async function drawGrid() {
  if (!$("run").value || $("seed").value === "" || $("num").value === "") return;
  const ticket = ++latest, params = query("png"), seed = params.get("seed"), text = command();
  const png = `/api/sample/draw?${query("png", true)}`, npz = `/api/sample/draw?${query("npz", true)}`;
  studio.showError(errorBox, null);
  const response = await fetch(`/api/sample/draw?${params}`, { cache: "no-store" });
  if (ticket !== latest) return;
  if (!response.ok) { studio.showError(errorBox, (await response.json()).error); return; }
  const blob = await response.blob(), img = $("grid"), old = img.src;
  if (ticket !== latest) return;
  img.src = URL.createObjectURL(blob);
  await img.decode();
  if (old.startsWith("blob:")) URL.revokeObjectURL(old);
  img.dataset.seed = seed;  // the seed of the grid on show, once it is decoded
  $("caption").textContent = text;
  $("png").href = png;
  $("npz").href = npz;
}

async function chooseRun() {
  try {
    const info = await studio.get(`/api/sample/info?run=${encodeURIComponent($("run").value)}`);
    const classes = info.spec.num_classes;
    $("class-box").hidden = !classes;
    $("class").replaceChildren(new Option("mixed", ""), ...Array.from({ length: classes }, (_, k) => new Option(String(k), String(k))));
    await drawGrid();
  } catch (error) { studio.showError(errorBox, error); }
}

async function start() {
  try {
    const info = await studio.get("/api/sample/info");
    $("empty").hidden = info.runs.length > 0;
    $("run").replaceChildren(...info.runs.map(run => new Option(run.label, run.name)));
    const wanted = new URLSearchParams(location.search).get("run");
    if (wanted && info.runs.some(run => run.name === wanted)) $("run").value = wanted;
    if (info.runs.length) await chooseRun();
  } catch (error) { studio.showError(errorBox, error); }
}

$("run").addEventListener("change", chooseRun);
$("draw").addEventListener("click", () => drawGrid().catch(error => studio.showError(errorBox, error)));
$("next-seed").addEventListener("click", () => { $("seed").value = Number($("seed").value) + 1; drawGrid(); });
["seed", "num", "truncation", "class"].forEach(id => $(id).addEventListener("change", () => drawGrid()));
start();
