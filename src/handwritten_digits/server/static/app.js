// The drawing page: strokes on a canvas, read live by POST /api/v1/recognize; photos with boxes; corrections.
// Plain JS, no dependencies, so the page works offline from the server alone.
"use strict";

const API = "/api/v1";
const EXPORT_SCALE = 0.5;       // the PNG sent is half the canvas's logical size (280x140): plenty for 28x28 inputs
const LIVE_INTERVAL_MS = 200;   // at most one live request per this interval while drawing

const $ = (id) => document.getElementById(id);
const pad = $("pad");
const ctx = pad.getContext("2d");
const LOGICAL = { w: pad.width, h: pad.height };

const state = {
  strokes: [],          // [{width, points: [[x, y], ...]}] in logical canvas units
  current: null,
  pointerId: null,
  timer: null,
  inFlight: false,
  dirty: false,
  seq: 0,               // request counter: late answers to old drawings are dropped
  shown: 0,
  mode: "draw",         // "draw" or "photo": which input the result belongs to
};

// ---------------------------------------------------------------- canvas

function fitCanvas() {
  // sharp strokes on high-DPI screens: back the canvas by device pixels, draw in logical units
  const rect = pad.getBoundingClientRect();
  const dpr = window.devicePixelRatio || 1;
  pad.width = Math.round(rect.width * dpr);
  pad.height = Math.round(rect.width * dpr * LOGICAL.h / LOGICAL.w);
  render();
}

function drawStrokes(c, scale) {
  c.lineCap = "round";
  c.lineJoin = "round";
  c.strokeStyle = "#111827";
  c.fillStyle = "#111827";
  for (const s of state.strokes.concat(state.current ? [state.current] : [])) {
    const p = s.points;
    c.lineWidth = s.width * scale;
    if (p.length === 1) {
      c.beginPath();
      c.arc(p[0][0] * scale, p[0][1] * scale, s.width * scale / 2, 0, Math.PI * 2);
      c.fill();
      continue;
    }
    c.beginPath();
    c.moveTo(p[0][0] * scale, p[0][1] * scale);
    for (let i = 1; i < p.length - 1; i++) {  // quadratic curves through midpoints: smooth ink
      const mx = (p[i][0] + p[i + 1][0]) / 2, my = (p[i][1] + p[i + 1][1]) / 2;
      c.quadraticCurveTo(p[i][0] * scale, p[i][1] * scale, mx * scale, my * scale);
    }
    const last = p[p.length - 1];
    c.lineTo(last[0] * scale, last[1] * scale);
    c.stroke();
  }
}

function render() {
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.clearRect(0, 0, pad.width, pad.height);
  drawStrokes(ctx, pad.width / LOGICAL.w);
  $("pad-hint").hidden = state.strokes.length > 0 || state.current !== null;
  $("undo").disabled = state.strokes.length === 0;
  $("clear").disabled = state.strokes.length === 0;
}

function toLogical(ev) {
  const rect = pad.getBoundingClientRect();
  return [(ev.clientX - rect.left) * LOGICAL.w / rect.width, (ev.clientY - rect.top) * LOGICAL.h / rect.height];
}

pad.addEventListener("pointerdown", (ev) => {
  if (state.pointerId !== null || (ev.pointerType === "mouse" && ev.button !== 0)) return;
  ev.preventDefault();
  pad.setPointerCapture(ev.pointerId);
  state.pointerId = ev.pointerId;
  const width = Number($("pen-width").value) * (ev.pointerType === "pen" && ev.pressure > 0 ? 0.6 + 0.8 * ev.pressure : 1);
  state.current = { width, points: [toLogical(ev)] };
  render();
});

pad.addEventListener("pointermove", (ev) => {
  if (ev.pointerId !== state.pointerId || !state.current) return;
  ev.preventDefault();
  const events = ev.getCoalescedEvents ? ev.getCoalescedEvents() : [ev];
  for (const e of (events.length ? events : [ev])) state.current.points.push(toLogical(e));
  render();
  scheduleLive();
});

function endStroke(ev) {
  if (ev.pointerId !== state.pointerId) return;
  state.pointerId = null;
  if (state.current) state.strokes.push(state.current);
  state.current = null;
  render();
  scheduleLive(true);
}
pad.addEventListener("pointerup", endStroke);
pad.addEventListener("pointercancel", endStroke);

$("undo").addEventListener("click", undo);
$("clear").addEventListener("click", clearPad);
$("pen-width").addEventListener("input", () => { $("pen-value").textContent = $("pen-width").value; });

function undo() {
  state.strokes.pop();
  render();
  scheduleLive(true);
}

function clearPad() {
  state.strokes = [];
  render();
  scheduleLive(true);
}

document.addEventListener("keydown", (ev) => {
  if (state.mode !== "draw" || ev.target.matches("input, textarea")) return;
  if ((ev.ctrlKey || ev.metaKey) && ev.key.toLowerCase() === "z") { ev.preventDefault(); undo(); }
  else if (ev.key === "Escape") clearPad();
});

// ---------------------------------------------------------------- live recognition

function scheduleLive(soon = false) {
  if (state.mode !== "draw") return;
  if (soon) { clearTimeout(state.timer); state.timer = setTimeout(runLive, 30); return; }
  if (state.timer === null) state.timer = setTimeout(runLive, LIVE_INTERVAL_MS);
}

function exportDrawing() {
  const out = document.createElement("canvas");
  out.width = Math.round(LOGICAL.w * EXPORT_SCALE);
  out.height = Math.round(LOGICAL.h * EXPORT_SCALE);
  const c = out.getContext("2d");
  c.fillStyle = "#ffffff";   // opaque paper: the PNG means the same in every decoder
  c.fillRect(0, 0, out.width, out.height);
  drawStrokes(c, EXPORT_SCALE);
  return new Promise((resolve) => out.toBlob(resolve, "image/png"));
}

async function runLive() {
  state.timer = null;
  if (state.inFlight) { state.dirty = true; return; }
  if (state.strokes.length === 0 && !state.current) { showResult(null); return; }
  state.inFlight = true;
  try {
    const blob = await exportDrawing();
    await recognize(blob, "image/png", "draw");
  } finally {
    state.inFlight = false;
    if (state.dirty) { state.dirty = false; scheduleLive(true); }
  }
}

async function recognize(body, type, mode) {
  const seq = ++state.seq;
  const started = performance.now();
  setStatus("reading…");
  try {
    const res = await fetch(`${API}/recognize?include_inputs=true`, {
      method: "POST", headers: { "Content-Type": type || "application/octet-stream" }, body,
    });
    const data = await res.json().catch(() => ({ detail: res.statusText }));
    if (seq < state.shown || mode !== state.mode) return null;   // a newer answer is already on screen
    state.shown = seq;
    if (!res.ok) { setStatus(data.detail || `error ${res.status}`, true); return null; }
    if (seq === state.seq) setStatus(`read in ${Math.round(performance.now() - started)} ms`);
    showResult(data);
    return data;
  } catch (err) {
    if (seq === state.seq) setStatus("server unreachable", true);
    return null;
  }
}

function setStatus(text, isError = false) {
  const el = $("status");
  el.textContent = text;
  el.classList.toggle("error", isError);
}

// ---------------------------------------------------------------- results

function pct(p) { return `${(100 * p).toFixed(p > 0.995 || p < 0.1 ? 1 : 0)}%`; }

function showResult(data) {
  const number = $("number");
  const list = $("digits");
  list.replaceChildren();
  if (!data || data.digits.length === 0) {
    number.textContent = "—";
    number.dataset.empty = "true";
    $("summary").textContent = data ? "No digit found." : "Nothing read yet.";
    if (state.mode === "photo") drawBoxes(data);
    return;
  }
  number.textContent = data.text;
  number.dataset.empty = "false";
  const lowest = Math.min(...data.digits.map((d) => d.confidence));
  $("summary").textContent = `${data.digits.length} digit${data.digits.length > 1 ? "s" : ""}` +
    ` · lowest confidence ${pct(lowest)}`;
  data.digits.forEach((d, i) => list.appendChild(digitItem(d, i)));
  if (state.mode === "photo") drawBoxes(data);
}

function digitItem(d, index) {
  const item = $("digit-template").content.firstElementChild.cloneNode(true);
  const label = d.rejected ? "?" : String(d.digit);
  item.querySelector(".seen").src = d.input || "";
  item.querySelector(".seen").alt = `28 by 28 model input of digit ${index + 1}`;
  item.querySelector(".digit-value").textContent = label;
  item.querySelector(".digit-conf").textContent = d.rejected ? `unsure (${pct(d.confidence)})` : pct(d.confidence);
  const bars = item.querySelector(".bars");
  const top = d.probabilities.indexOf(Math.max(...d.probabilities));
  bars.setAttribute("aria-label", `probabilities: ${d.probabilities.map((p, k) => `${k} ${pct(p)}`).join(", ")}`);
  d.probabilities.forEach((p, k) => {
    const bar = document.createElement("div");
    bar.className = "bar" + (k === top ? " top" : "");
    bar.innerHTML = `<span class="fill"></span><span class="k">${k}</span>`;
    bar.querySelector(".fill").style.height = `${Math.max(2, 100 * p)}%`;
    bar.title = `${k}: ${pct(p)}`;
    bars.appendChild(bar);
  });
  const wrong = item.querySelector(".wrong");
  const fix = item.querySelector(".fix");
  const keys = item.querySelector(".fix-keys");
  wrong.setAttribute("aria-label", `That's wrong: digit ${index + 1} is not ${label}`);
  for (let k = 0; k < 10; k++) {
    const b = document.createElement("button");
    b.className = "key";
    b.textContent = String(k);
    b.setAttribute("aria-label", `it is ${k}`);
    b.addEventListener("click", () => sendFeedback(d, k, item));
    keys.appendChild(b);
  }
  wrong.addEventListener("click", () => {
    const open = fix.hidden;
    fix.hidden = !open;
    wrong.setAttribute("aria-expanded", String(open));
    if (open) keys.children[0].focus();
  });
  return item;
}

async function sendFeedback(d, label, item) {
  const fix = item.querySelector(".fix");
  try {
    const blob = await (await fetch(d.input)).blob();   // the 28x28 input, exactly what the model saw
    const form = new FormData();
    form.append("image", blob, "digit.png");
    form.append("label", String(label));
    form.append("predicted", String(d.digit));
    const res = await fetch(`${API}/feedback`, { method: "POST", body: form });
    if (!res.ok) throw new Error((await res.json()).detail || res.statusText);
    fix.replaceChildren(Object.assign(document.createElement("span"), {
      className: "thanks", textContent: `Thanks — saved as ${label}.`,
    }));
    item.querySelector(".wrong").hidden = true;
  } catch (err) {
    setStatus(`could not save: ${err.message}`, true);
  }
}

// ---------------------------------------------------------------- photos: upload, drop, paste

function setMode(mode) {
  state.mode = mode;
  const draw = mode === "draw";
  $("tab-draw").setAttribute("aria-selected", String(draw));
  $("tab-photo").setAttribute("aria-selected", String(!draw));
  $("draw-panel").hidden = !draw;
  $("photo-panel").hidden = draw;
  showResult(null);
  if (draw) { fitCanvas(); scheduleLive(true); }
  else if (state.photo) recognize(state.photo, state.photo.type, "photo");
}
$("tab-draw").addEventListener("click", () => setMode("draw"));
$("tab-photo").addEventListener("click", () => setMode("photo"));
document.querySelector(".tabs").addEventListener("keydown", (ev) => {
  if (ev.key !== "ArrowLeft" && ev.key !== "ArrowRight") return;
  const next = state.mode === "draw" ? "photo" : "draw";
  setMode(next);
  $(`tab-${next}`).focus();
});

async function usePhoto(file) {
  if (!file || !file.type.startsWith("image/")) { setStatus("that is not an image", true); return; }
  state.photo = file;
  if (state.mode !== "photo") setMode("photo");
  const img = $("photo");
  if (img.src) URL.revokeObjectURL(img.src);
  img.src = URL.createObjectURL(file);
  $("photo-empty").hidden = true;
  $("photo-view").hidden = false;
  $("photo-name").textContent = file.name || "pasted image";
  $("boxes").replaceChildren();
  await recognize(file, file.type, "photo");
}

function drawBoxes(data) {
  const layer = $("boxes");
  layer.replaceChildren();
  if (!data) return;
  for (const [i, d] of data.digits.entries()) {
    const [x0, y0, x1, y1] = d.box;
    const box = document.createElement("div");
    box.className = "box" + (d.rejected ? " rejected" : "");
    Object.assign(box.style, {  // percentages: boxes follow the image as it is resized
      left: `${100 * x0 / data.width}%`, top: `${100 * y0 / data.height}%`,
      width: `${100 * (x1 - x0) / data.width}%`, height: `${100 * (y1 - y0) / data.height}%`,
    });
    box.dataset.index = String(i);
    box.innerHTML = `<span class="tag">${d.rejected ? "?" : d.digit}</span>`;
    layer.appendChild(box);
  }
}

$("file").addEventListener("change", (ev) => usePhoto(ev.target.files[0]));
for (const zone of [$("drop-zone"), $("photo-drop")]) {
  zone.addEventListener("dragover", (ev) => { ev.preventDefault(); zone.classList.add("dragging"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("dragging"));
  zone.addEventListener("drop", (ev) => {
    ev.preventDefault();
    zone.classList.remove("dragging");
    usePhoto(ev.dataTransfer.files[0]);
  });
}
document.addEventListener("paste", (ev) => {
  const file = [...(ev.clipboardData?.files || [])].find((f) => f.type.startsWith("image/"));
  if (file) { ev.preventDefault(); usePhoto(file); }
});

// ---------------------------------------------------------------- start

async function loadModel() {
  try {
    const card = await (await fetch(`${API}/model`)).json();
    const acc = card.metrics?.test?.accuracy ?? card.metrics?.val?.accuracy;
    $("model-chip").textContent = `model: ${card.name}` + (acc ? ` · ${(100 * acc).toFixed(2)}%` : "");
  } catch (err) {
    $("model-chip").textContent = "model: unavailable";
  }
}

window.addEventListener("resize", fitCanvas);
fitCanvas();
loadModel();
