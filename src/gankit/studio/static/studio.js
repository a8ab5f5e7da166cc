// gankit studio: helpers shared by every page (no libraries, nothing fetched from outside this server).
"use strict";
const studio = {
  async get(url) {
    const response = await fetch(url, { cache: "no-store" });
    const body = await response.json();
    if (!response.ok) throw new Error(body.error || response.statusText);
    return body;
  },
  async post(url, data) {
    const response = await fetch(url, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(data || {}) });
    const body = await response.json();
    if (!response.ok) throw new Error(body.error || response.statusText);
    return body;
  },
  showError(element, error) { element.textContent = error ? String(error.message || error) : ""; },
  fmt(value, digits = 3) {
    if (value === null || value === undefined || Number.isNaN(value)) return "–";
    if (typeof value !== "number") return String(value);
    return Math.abs(value) >= 1000 ? value.toFixed(0) : value.toPrecision(digits);
  },
  // Line chart of {name: [[x, y], ...]} on a canvas, with its own axes.
  chart(canvas, series, colors, options = {}) {
    const ctx = canvas.getContext("2d"), w = canvas.width, h = canvas.height, pad = 34;
    ctx.clearRect(0, 0, w, h);
    const all = Object.values(series).flat();
    ctx.font = "11px system-ui, sans-serif"; ctx.fillStyle = "#5b6574";
    if (!all.length) { ctx.fillText(options.empty || "no data yet", pad, h / 2); return; }
    let [x0, x1] = [Math.min(...all.map(p => p[0])), Math.max(...all.map(p => p[0]))];
    let [y0, y1] = options.yRange || [Math.min(...all.map(p => p[1])), Math.max(...all.map(p => p[1]))];
    if (x1 === x0) x1 = x0 + 1;
    if (y1 === y0) { y0 -= 0.5; y1 += 0.5; }
    const X = x => pad + (x - x0) / (x1 - x0) * (w - pad - 8), Y = y => h - 18 - (y - y0) / (y1 - y0) * (h - 28);
    ctx.strokeStyle = "#dde1e7"; ctx.beginPath(); ctx.moveTo(pad, 6); ctx.lineTo(pad, h - 18); ctx.lineTo(w - 8, h - 18); ctx.stroke();
    ctx.fillText(studio.fmt(y1), 2, 12); ctx.fillText(studio.fmt(y0), 2, h - 20);
    ctx.fillText(String(Math.round(x0)), pad, h - 4); const last = String(Math.round(x1));
    ctx.fillText(last, w - 8 - ctx.measureText(last).width, h - 4);
    Object.entries(series).forEach(([name, points], i) => {
      ctx.strokeStyle = colors[name] || ["#2f6fdf", "#e8710a", "#12a37f"][i % 3]; ctx.lineWidth = 1.5; ctx.beginPath();
      points.forEach((p, j) => (j ? ctx.lineTo(X(p[0]), Y(p[1])) : ctx.moveTo(X(p[0]), Y(p[1])))); ctx.stroke();
    });
  },
};
// Uploads go to the server as JSON: {name, data: "data:image/png;base64,..."}.
studio.readFile = file => new Promise((resolve, reject) => {
  const reader = new FileReader();
  reader.onload = () => resolve({ name: file.name, data: reader.result });
  reader.onerror = () => reject(new Error(`cannot read ${file.name}`));
  reader.readAsDataURL(file);
});
studio.fetchAsUpload = async (url, name) => {
  const response = await fetch(url, { cache: "no-store" });
  if (!response.ok) throw new Error((await response.json()).error || response.statusText);
  const blob = await response.blob();
  return studio.readFile(new File([blob], name, { type: blob.type }));
};
// POST a job and poll /api/jobs until it has finished; onWait(status) is called while it waits.
studio.runJob = async (url, data, onWait) => {
  let status = await studio.post(url, data);
  while (status.state === "queued" || status.state === "running") {
    if (onWait) onWait(status);
    await new Promise(resolve => setTimeout(resolve, 400));
    status = await studio.get(`/api/jobs?id=${encodeURIComponent(status.id)}`);
  }
  if (status.state === "failed") throw new Error(status.error);
  return status;
};
studio.fillRuns = (select, runs, wanted) => {
  select.replaceChildren(...runs.map(run => new Option(run.label, run.name)));
  if (wanted && runs.some(run => run.name === wanted)) select.value = wanted;
};
