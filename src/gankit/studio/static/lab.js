// The Lab page: draws the frames the server streams (Server-Sent Events) and sends the controls.
"use strict";
const plane = document.getElementById("plane"), ctx = plane.getContext("2d");
const errorBox = document.getElementById("error");
const lab = {
  real: [], extent: [-1.5, 1.5, -1.5, 1.5], frame: null, playing: false, drawing: false, drawn: [],
  losses: { d_loss: [], g_loss: [] }, modes: { covered: [] },
  // What the browser received: [time in ms, step] of each frame (read by the tests and the benchmark).
  received: [],
};
window.lab = lab;

const toPx = ([x, y]) => {
  const [x0, x1, y0, y1] = lab.extent;
  return [(x - x0) / (x1 - x0) * plane.width, (y1 - y) / (y1 - y0) * plane.height];
};
const toData = (px, py) => {
  const [x0, x1, y0, y1] = lab.extent;
  return [x0 + px / plane.width * (x1 - x0), y1 - py / plane.height * (y1 - y0)];
};

// D's output in (0, 1) -> colour: purple (fake) through white to green (real).
function heatColor(v) {
  const fake = [139, 63, 217], real = [18, 163, 127], t = Math.abs(v - 0.5) * 2, c = v < 0.5 ? fake : real;
  return c.map(ch => Math.round(255 + (ch - 255) * t * 0.55));
}

const heat = document.createElement("canvas");
function draw() {
  const frame = lab.frame;
  ctx.clearRect(0, 0, plane.width, plane.height);
  if (frame) {
    const rows = frame.heatmap, size = rows.length;
    heat.width = heat.height = size;
    const hctx = heat.getContext("2d"), image = hctx.createImageData(size, size);
    rows.forEach((row, i) => row.forEach((v, j) => {
      const [r, g, b] = heatColor(v), k = 4 * (i * size + j);
      image.data[k] = r; image.data[k + 1] = g; image.data[k + 2] = b; image.data[k + 3] = 255;
    }));
    hctx.putImageData(image, 0, 0);
    ctx.imageSmoothingEnabled = true;
    ctx.drawImage(heat, 0, 0, plane.width, plane.height);
  }
  if (frame) {
    const longest = Math.max(1e-12, ...frame.arrows.map(([a, b]) => Math.hypot(a, b)));
    ctx.strokeStyle = "rgba(40, 40, 60, 0.55)"; ctx.lineWidth = 1; ctx.beginPath();
    frame.fake.forEach((p, i) => {
      const [x, y] = toPx(p), [a, b] = frame.arrows[i], scale = 28 / longest;
      ctx.moveTo(x, y); ctx.lineTo(x + a * scale, y - b * scale);
    });
    ctx.stroke();
    ctx.fillStyle = "#8b3fd9";
    frame.fake.forEach(p => { const [x, y] = toPx(p); ctx.beginPath(); ctx.arc(x, y, 2.3, 0, 2 * Math.PI); ctx.fill(); });
  }
  ctx.fillStyle = "rgba(18, 163, 127, 0.85)";  // real points on top, so that a mode G misses stays visible
  lab.real.forEach(p => { const [x, y] = toPx(p); ctx.fillRect(x - 2, y - 2, 4, 4); });
  if (lab.drawing) {
    ctx.fillStyle = "#1d2430";
    lab.drawn.forEach(p => { const [x, y] = toPx(p); ctx.fillRect(x - 2, y - 2, 4, 4); });
  }
}

function showFrame(frame) {
  lab.frame = frame;
  lab.received.push([performance.now(), frame.step]);
  if (lab.received.length > 5000) lab.received.splice(0, 1000);
  document.getElementById("step").textContent = frame.step;
  const modes = frame.modes;
  const modesBox = document.getElementById("modes");
  modesBox.textContent = modes ? `${modes.covered}/${modes.total}` : "–";
  modesBox.className = "big " + (modes ? (modes.covered === modes.total ? "good" : "bad") : "");
  document.getElementById("quality").textContent = modes
    ? `${(100 * modes.high_quality).toFixed(1)}% of 2,500 samples within 3σ of a mode · D steps ${frame.d_steps}, G steps ${frame.g_steps}`
    : `D steps ${frame.d_steps}, G steps ${frame.g_steps}`;
  if (frame.d_loss !== null) lab.losses.d_loss.push([frame.step, frame.d_loss]);
  if (frame.g_loss !== null) lab.losses.g_loss.push([frame.step, frame.g_loss]);
  if (modes) lab.modes.covered.push([frame.step, modes.covered]);
  for (const series of [lab.losses.d_loss, lab.losses.g_loss, lab.modes.covered]) if (series.length > 600) series.splice(0, series.length - 600);
  const recent = lab.received.filter(([t]) => t > performance.now() - 2000);
  document.getElementById("fps").textContent = recent.length > 1 ? (recent.length / 2).toFixed(0) : "–";
  draw();
  studio.chart(document.getElementById("losses"), lab.losses, { d_loss: "#2f6fdf", g_loss: "#e8710a" });
  studio.chart(document.getElementById("modes-chart"), lab.modes, { covered: "#12a37f" },
    { yRange: [0, modes ? modes.total : 8], empty: "drawn points: no modes to count" });
}

async function loadReal() {
  const real = await studio.get("/api/lab/real");
  lab.real = real.real; lab.extent = real.extent;
}

function clearHistory() { lab.losses = { d_loss: [], g_loss: [] }; lab.modes = { covered: [] }; }

async function onFrame(frame) {
  if (frame.real_changed || frame.step < (lab.frame ? lab.frame.step : 0)) { clearHistory(); await loadReal(); }
  showFrame(frame);
  setPlaying(frame.playing);
  // The form follows the server (another tab, or a preset), except for a field being edited.
  const editing = document.activeElement && document.activeElement.matches("input[type=number]");
  if (!editing && JSON.stringify(frame.settings) !== lab.shownSettings) showSettings(frame.settings);
}

function setPlaying(playing) {
  lab.playing = playing;
  const button = document.getElementById("play");
  button.textContent = playing ? "Pause" : "Play";
}

const fields = ["dataset", "loss", "lr_g", "lr_d", "steps_per_frame", "seed", "r1_gamma", "ttur_ratio"];
function showSettings(s) {
  lab.shownSettings = JSON.stringify(s);
  fields.forEach(name => { if (name !== "r1_gamma" || s.r1_gamma > 0) document.getElementById(name).value = s[name]; });
  ["pacgan", "ema", "ttur"].forEach(name => { document.getElementById(name).checked = s[name]; });
  document.getElementById("r1").checked = s.r1_gamma > 0;
  document.getElementById("lr_d").disabled = s.ttur;
}

// The one setting a control changes: only that is sent, so a form that lags behind the server changes nothing else.
function changedSetting(input) {
  const number = id => Number(document.getElementById(id).value);
  switch (input.id) {
    case "r1": case "r1_gamma":
      return { r1_gamma: document.getElementById("r1").checked ? number("r1_gamma") : 0 };
    case "pacgan": case "ema": case "ttur":
      return { [input.id]: input.checked };
    case "dataset": case "loss":
      return { [input.id]: input.value };
    default:
      return { [input.id]: number(input.id) };
  }
}

async function send(request) {
  try {
    studio.showError(errorBox, null);
    const state = await request();
    showSettings(state.settings);
    setPlaying(state.playing);
    return state;
  } catch (error) { studio.showError(errorBox, error); }
}

document.getElementById("play").addEventListener("click", () => send(() => studio.post("/api/lab/control", { action: lab.playing ? "pause" : "play" })));
document.querySelectorAll("[data-action]").forEach(button => button.addEventListener("click",
  () => send(() => studio.post("/api/lab/control", { action: button.dataset.action }))));
document.querySelectorAll("[data-preset]").forEach(button => button.addEventListener("click",
  () => send(() => studio.post("/api/lab/settings", { preset: button.dataset.preset }))));
document.querySelectorAll("select, input").forEach(input => input.addEventListener("change", () => {
  if (input.type === "number" && input.value === "") return;  // half-typed: wait for a number
  if (input.id === "r1_gamma" && !document.getElementById("r1").checked) return;
  if (input.id === "dataset" && input.value === "drawn" && !lab.drawn.length) { startDrawing(); return; }
  send(() => studio.post("/api/lab/settings", { settings: changedSetting(input) }));
}));

function startDrawing() {
  lab.drawing = true; lab.drawn = [];
  document.getElementById("draw").classList.add("on");
  document.getElementById("use-drawn").hidden = false;
  studio.showError(errorBox, "Drag on the plane to draw points, then press “Train on drawn points”.");
  draw();
}
document.getElementById("draw").addEventListener("click", startDrawing);
document.getElementById("use-drawn").addEventListener("click", async () => {
  lab.drawing = false;
  document.getElementById("draw").classList.remove("on");
  document.getElementById("use-drawn").hidden = true;
  document.getElementById("dataset").value = "drawn";
  await send(() => studio.post("/api/lab/settings", { settings: { dataset: "drawn" }, points: lab.drawn }));
});
let pointerDown = false;
function addPoint(event) {
  if (!lab.drawing || !pointerDown) return;
  const box = plane.getBoundingClientRect();
  const px = (event.clientX - box.left) * plane.width / box.width, py = (event.clientY - box.top) * plane.height / box.height;
  for (let k = 0; k < 3; k++) lab.drawn.push(toData(px + (Math.random() - 0.5) * 8, py + (Math.random() - 0.5) * 8));
  draw();
}
plane.addEventListener("pointerdown", event => { pointerDown = true; addPoint(event); });
plane.addEventListener("pointermove", addPoint);
window.addEventListener("pointerup", () => { pointerDown = false; });

async function start() {
  try {
    await loadReal();
    const state = await studio.get("/api/lab/state");
    showSettings(state.settings); setPlaying(state.playing);
  } catch (error) { studio.showError(errorBox, error); }
  const source = new EventSource("/api/lab/stream");
  let busy = Promise.resolve();
  source.addEventListener("frame", event => { busy = busy.then(() => onFrame(JSON.parse(event.data))); });
}
start();
