// The Edit page: an image (uploaded, or a test image) is inverted and moved toward a class, in a job the page polls.
"use strict";
const $ = id => document.getElementById(id);
const errorBox = $("error");
const BLANK = "data:image/gif;base64,R0lGODlhAQABAAAAACwAAAAAAQABAAA=";
let spec = null, upload = null;

function clearResult() {
  ["reconstruction", "edited"].forEach(id => { $(id).src = BLANK; $(`${id}-caption`).textContent = id; });
  $("download-edited").hidden = $("download-strip").hidden = true;
  $("caption").textContent = "";
}

function setUpload(item) {
  upload = item;
  $("original").src = item.data;
  $("original-caption").textContent = `original: ${item.name}`;
  clearResult();
}

function command() {
  let text = `gankit edit RUNS_DIR/${$("run").value} --input ${upload ? upload.name : "IMAGE.png"} --toward ${$("toward").value}`;
  if (spec && !spec.num_classes) text += ` --strength ${$("strength").value}`;
  if (spec && spec.num_classes && $("from").value !== "") text += ` --from ${$("from").value}`;
  return `${text} --steps ${$("steps").value} --out edited.png --strip strip.png`;
}

async function useTest() {
  const index = $("index").value || "0";
  const url = `/api/edit/example?run=${encodeURIComponent($("run").value)}&index=${index}`;
  setUpload(await studio.fetchAsUpload(url, `test-${index}.png`));
}

async function go() {
  if (!upload) { studio.showError(errorBox, "upload an image or use a test image first"); return; }
  studio.showError(errorBox, null);
  clearResult();
  const body = { run: $("run").value, image: upload, toward: $("toward").value, steps: $("steps").value };
  if (spec.num_classes) { if ($("from").value !== "") body.from = $("from").value; } else body.strength = $("strength").value;
  const text = command();
  $("go").disabled = true;
  try {
    const job = await studio.runJob("/api/edit/run", body, status => {
      $("status").textContent = status.state === "queued" ? `waiting for ${status.ahead} job(s) …` : `inverting … ${status.seconds.toFixed(0)} s`;
    });
    const r = job.result;
    $("reconstruction").src = r.reconstruction;
    $("edited").src = r.edited;
    $("original-caption").textContent = `original: ${r.name} (reads as ${r.input_class})`;
    $("reconstruction-caption").textContent = `reconstruction (PSNR ${r.psnr_db === null ? "∞" : r.psnr_db.toFixed(1)} dB)`;
    $("edited-caption").textContent = `toward ${r.toward} (reads as ${r.edited_class})`;
    $("download-edited").href = r.edited;
    $("download-strip").href = r.strip;
    $("download-edited").hidden = $("download-strip").hidden = false;
    $("status").textContent = `done in ${job.seconds.toFixed(1)} s`;
    $("caption").textContent = text;
    $("edited").dataset.done = String(Date.now());
  } finally { $("go").disabled = false; }
}

async function chooseRun() {
  spec = null;
  const info = await studio.get(`/api/edit/info?run=${encodeURIComponent($("run").value)}`);
  spec = info.spec;
  const classes = Array.from({ length: spec.classes }, (_, k) => new Option(String(k), String(k)));
  $("toward").replaceChildren(...classes);
  $("toward").value = "1";
  $("from").replaceChildren(new Option("auto", ""), ...classes.map(o => new Option(o.text, o.value)));
  $("from-box").hidden = !spec.num_classes;
  $("strength-box").hidden = Boolean(spec.num_classes);
  $("how").textContent = spec.num_classes
    ? "A conditional run keeps the inverted code and draws it with the new class (the input's class: auto is the domain evaluator's reading)."
    : `An unconditional run moves the code along the class's direction in z (fitted once per run on 10,000 samples labelled by the ${spec.dataset} evaluator) until it is "strength" past the class boundary.`;
  if (!upload || upload.name.startsWith("test-")) await useTest();
}

async function start() {
  try {
    const info = await studio.get("/api/edit/info");
    $("empty").hidden = info.runs.length > 0;
    studio.fillRuns($("run"), info.runs, new URLSearchParams(location.search).get("run"));
    if (info.runs.length) await chooseRun();
  } catch (error) { studio.showError(errorBox, error); }
}

const report = promise => promise.catch(error => { $("status").textContent = ""; studio.showError(errorBox, error); });
$("run").addEventListener("change", () => report(chooseRun()));
$("file").addEventListener("change", () => { if ($("file").files[0]) report(studio.readFile($("file").files[0]).then(setUpload)); });
$("use-test").addEventListener("click", () => report(useTest()));
$("go").addEventListener("click", () => report(go()));
start();
