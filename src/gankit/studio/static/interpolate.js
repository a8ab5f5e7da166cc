// The Interpolate page: G's images between the codes of seeds (GET, at once) or of uploaded images (a job that inverts them).
"use strict";
const $ = id => document.getElementById(id);
const errorBox = $("error");
let mode = "seeds", conditional = false;

function walkParams() {
  const params = { run: $("run").value, frames: $("frames").value, method: $("method").value, frame_ms: $("frame_ms").value };
  if (conditional && $("classes").value.trim()) params.classes = $("classes").value.trim();
  return params;
}

function command(ends) {
  let text = `gankit interpolate RUNS_DIR/${$("run").value} ${ends} --frames ${$("frames").value} --method ${$("method").value}`;
  if (conditional && $("classes").value.trim()) text += ` --classes ${$("classes").value.trim()}`;
  if ($("frame_ms").value !== "80") text += ` --frame-ms ${$("frame_ms").value}`;
  return text;
}

async function show(png, gif, caption, seeds) {
  const strip = $("strip");
  strip.src = png;
  await strip.decode();
  // as large as fits the panel (at most 4 screen pixels an image pixel, at least 1: then the strip scrolls)
  const room = $("strip-panel").clientWidth - 30, zoom = Math.max(1, Math.min(4, room / strip.naturalWidth));
  strip.style.width = `${Math.floor(strip.naturalWidth * zoom)}px`;
  $("anim").src = gif;
  $("anim").style.height = `${Math.max(112, Math.min(224, strip.naturalHeight * 6))}px`;
  strip.dataset.seeds = seeds || "";
  $("caption").textContent = caption;
}

let latest = 0;  // the newest request: an older answer that arrives later is dropped
async function drawSeeds() {
  if (!$("run").value) return;
  const ticket = ++latest, params = new URLSearchParams({ ...walkParams(), seeds: $("seeds").value.replace(/\s/g, "") });
  studio.showError(errorBox, null);
  const response = await fetch(`/api/interpolate/draw?${params}&format=png`, { cache: "no-store" });
  if (ticket !== latest) return;
  if (!response.ok) { studio.showError(errorBox, (await response.json()).error); return; }
  const png = URL.createObjectURL(await response.blob());
  if (ticket !== latest) return;
  const seeds = params.get("seeds"), base = `/api/interpolate/draw?${params}&download=1`;
  await show(png, `/api/interpolate/draw?${params}&format=gif`, command(`--seeds ${seeds}`) + " --out walk.gif", seeds);
  $("png").href = `${base}&format=png`;
  $("gif").href = `${base}&format=gif`;
}

async function drawImages() {
  const files = Array.from($("files").files);
  if (files.length < 2 || files.length > 4) { studio.showError(errorBox, "choose 2 to 4 image files"); return; }
  studio.showError(errorBox, null);
  const ticket = ++latest;
  const images = await Promise.all(files.map(studio.readFile));
  $("go").disabled = true;
  try {
    const job = await studio.runJob("/api/interpolate/images", { ...walkParams(), steps: $("steps").value, images },
      status => { $("status").textContent = `${status.state === "queued" ? "waiting" : "inverting"} … ${status.seconds.toFixed(0)} s`; });
    if (ticket !== latest) return;
    const names = job.result.names.join(",");
    $("status").textContent = `inverted ${job.result.names.length} images in ${job.seconds.toFixed(1)} s`;
    await show(job.result.png, job.result.gif, command(`--images ${names} --steps ${$("steps").value}`) + " --out between.gif");
    $("png").href = job.result.png; $("png").download = "between.png";
    $("gif").href = job.result.gif; $("gif").download = "between.gif";
  } finally { $("go").disabled = false; }
}

function go() {
  const work = mode === "seeds" ? drawSeeds() : drawImages();
  work.catch(error => { $("status").textContent = ""; studio.showError(errorBox, error); });
}

function setMode(wanted) {
  mode = wanted;
  $("mode-seeds").classList.toggle("on", mode === "seeds");
  $("mode-images").classList.toggle("on", mode === "images");
  $("seeds-box").hidden = mode !== "seeds";
  $("next").hidden = mode !== "seeds";
  $("images-box").hidden = mode !== "images";
  if (mode === "seeds") go();
}

async function chooseRun() {
  const run = (window.runs || []).find(r => r.name === $("run").value);
  conditional = Boolean(run && run.conditional);
  $("classes-box").hidden = !conditional;
  if (mode === "seeds") go();
}

async function start() {
  try {
    const info = await studio.get("/api/interpolate/info");
    window.runs = info.runs;
    $("empty").hidden = info.runs.length > 0;
    studio.fillRuns($("run"), info.runs, new URLSearchParams(location.search).get("run"));
    if (info.runs.length) await chooseRun();
  } catch (error) { studio.showError(errorBox, error); }
}

$("run").addEventListener("change", chooseRun);
$("go").addEventListener("click", go);
$("next").addEventListener("click", () => {
  $("seeds").value = $("seeds").value.split(",").map(s => Number(s) + $("seeds").value.split(",").length).join(",");
  go();
});
$("mode-seeds").addEventListener("click", () => setMode("seeds"));
$("mode-images").addEventListener("click", () => setMode("images"));
["seeds", "frames", "method", "classes", "frame_ms"].forEach(id => $(id).addEventListener("change", () => { if (mode === "seeds") go(); }));
start();
