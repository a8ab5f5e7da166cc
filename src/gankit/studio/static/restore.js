// The Restore page: an uploaded (or test) image restored by a run; inpainting runs take a mask painted over the image.
"use strict";
const $ = id => document.getElementById(id);
const errorBox = $("error");
const BLANK = "data:image/gif;base64,R0lGODlhAQABAAAAACwAAAAAAQABAAA=";
let spec = null, upload = null, picture = null, mask = null;  // mask: Uint8Array, 1 = missing, at the output's size

const restore = window.restore = { get masked() { return mask ? mask.reduce((a, b) => a + b, 0) : 0; } };

function outputSize() { return [spec.output_shape[1], spec.output_shape[2]]; }

function render() {
  const canvas = $("canvas"), ctx = canvas.getContext("2d"), [h, w] = outputSize();
  canvas.width = w; canvas.height = h;
  ctx.imageSmoothingEnabled = false;
  ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, w, h);
  if (picture) ctx.drawImage(picture, 0, 0, w, h);  // a super-resolution input is shown enlarged to the output's size
  if (!mask) return;
  const overlay = ctx.getImageData(0, 0, w, h);
  for (let i = 0; i < mask.length; i++) {
    if (!mask[i]) continue;
    const p = overlay.data;  // painted pixels: magenta over the image
    p[4 * i] = 0.35 * p[4 * i] + 0.65 * 232; p[4 * i + 1] = 0.35 * p[4 * i + 1] + 0.65 * 30; p[4 * i + 2] = 0.35 * p[4 * i + 2] + 0.65 * 150;
  }
  ctx.putImageData(overlay, 0, 0);
}

let last = null;  // the previous brush position in image pixels: a drag paints the whole segment between moves
function paintAt(event) {
  const canvas = $("canvas"), box = canvas.getBoundingClientRect(), [h, w] = outputSize();
  const x = (event.clientX - box.left) / box.width * w, y = (event.clientY - box.top) / box.height * h;
  const r = Number($("brush").value) / 2, from = last || [x, y], n = Math.ceil(Math.hypot(x - from[0], y - from[1]) * 2) + 1;
  for (let k = 0; k < n; k++) {
    const cx = from[0] + (x - from[0]) * (n > 1 ? k / (n - 1) : 1), cy = from[1] + (y - from[1]) * (n > 1 ? k / (n - 1) : 1);
    for (let j = Math.max(0, Math.floor(cy - r)); j <= Math.min(h - 1, Math.floor(cy + r)); j++) {
      for (let i = Math.max(0, Math.floor(cx - r)); i <= Math.min(w - 1, Math.floor(cx + r)); i++) {
        if ((i + 0.5 - cx) ** 2 + (j + 0.5 - cy) ** 2 <= r * r + 0.25) mask[j * w + i] = 1;
      }
    }
  }
  last = [x, y];
  render();
}

function maskUpload() {
  const [h, w] = outputSize(), canvas = document.createElement("canvas");
  canvas.width = w; canvas.height = h;
  const ctx = canvas.getContext("2d"), data = ctx.createImageData(w, h);
  mask.forEach((m, i) => { data.data.fill(m ? 255 : 0, 4 * i, 4 * i + 3); data.data[4 * i + 3] = 255; });
  ctx.putImageData(data, 0, 0);
  return { name: "mask.png", data: canvas.toDataURL("image/png") };
}

async function setUpload(item) {
  upload = item;
  const img = new Image();
  img.src = item.data;
  await img.decode();
  picture = img;
  $("input-caption").textContent = `input: ${item.name} (${img.naturalWidth}x${img.naturalHeight})`;
  $("input-seen").src = BLANK; $("restored").src = BLANK;
  $("download").hidden = true;
  render();
}

async function useTest() {
  const index = $("index").value || "0";
  await setUpload(await studio.fetchAsUpload(`/api/restore/example?run=${encodeURIComponent($("run").value)}&index=${index}`, `test-${index}.png`));
}

function command() {
  return `gankit restore RUNS_DIR/${$("run").value} --input ${upload ? upload.name : "IMAGE.png"} --out restored/` + (spec.mask ? " --mask mask.png" : "");
}

async function go() {
  if (!upload) { studio.showError(errorBox, "upload an image or use a test image first"); return; }
  studio.showError(errorBox, null);
  const body = { run: $("run").value, image: upload };
  if (spec.mask) body.mask = maskUpload();
  const result = await studio.post("/api/restore/run", body);
  $("input-seen").src = result.input;
  $("restored").src = result.restored;
  await $("restored").decode();
  $("restored-caption").textContent = spec.mask ? `restored (${result.masked_pixels} pixels filled)` : "restored";
  $("download").href = result.restored; $("download").hidden = false;
  if (spec.mask) { $("download-mask").href = body.mask.data; $("download-mask").hidden = false; }
  $("caption").textContent = command();
}

const TASKS = { super_resolution: "super-resolution", denoise: "denoising", inpaint: "inpainting" };
async function chooseRun() {
  const info = await studio.get(`/api/restore/info?run=${encodeURIComponent($("run").value)}`);
  spec = info.spec;
  const [c, h, w] = spec.input_shape;
  $("task").textContent = `${TASKS[spec.task] || spec.task} (${spec.degradation}): takes a ${w}x${h} ${c === 1 ? "gray" : "RGB"} image` +
    (spec.scale > 1 ? `, gives ${spec.output_shape[2]}x${spec.output_shape[1]}` : "") + (spec.mask ? " and a mask you paint" : "");
  $("file-label").firstChild.textContent = `image: upload a ${w}x${h} ${c === 1 ? "gray" : "RGB"} one`;
  $("mask-tools").hidden = !spec.mask;
  $("download-mask").hidden = true;
  const [oh, ow] = outputSize();
  mask = spec.mask ? new Uint8Array(oh * ow) : null;
  if (!upload || upload.name.startsWith("test-")) await useTest(); else render();
}

async function start() {
  try {
    const info = await studio.get("/api/restore/info");
    $("empty").hidden = info.runs.length > 0;
    studio.fillRuns($("run"), info.runs, new URLSearchParams(location.search).get("run"));
    if (info.runs.length) await chooseRun();
  } catch (error) { studio.showError(errorBox, error); }
}

let painting = false;
$("canvas").addEventListener("pointerdown", event => {
  if (!mask) return;
  painting = true; last = null;
  $("canvas").setPointerCapture(event.pointerId);
  paintAt(event);
});
$("canvas").addEventListener("pointermove", event => { if (painting) paintAt(event); });
["pointerup", "pointercancel"].forEach(name => $("canvas").addEventListener(name, () => { painting = false; }));
$("clear").addEventListener("click", () => { mask.fill(0); render(); });
$("centre").addEventListener("click", () => {  // the square the mask_centre runs were trained on: side H/2 x W/2, centred
  const [h, w] = outputSize(), top = Math.floor((h - Math.floor(h / 2)) / 2), left = Math.floor((w - Math.floor(w / 2)) / 2);
  for (let j = top; j < top + Math.floor(h / 2); j++) for (let i = left; i < left + Math.floor(w / 2); i++) mask[j * w + i] = 1;
  render();
});
const report = promise => promise.catch(error => studio.showError(errorBox, error));
$("run").addEventListener("change", () => report(chooseRun()));
$("file").addEventListener("change", () => { if ($("file").files[0]) report(studio.readFile($("file").files[0]).then(setUpload)); });
$("use-test").addEventListener("click", () => report(useTest()));
$("go").addEventListener("click", () => report(go()));
start();
