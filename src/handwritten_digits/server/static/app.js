// The drawing page: strokes on a canvas, read live by POST /api/v1/recognize; photos with boxes; corrections.
// A reading is laid out as the page is: lines top to bottom, numbers left to right (the reply's `lines`);
// each number can be selected (a toggle button) to show its digits, and is boxed on the photo.
// Marks (the reply's `marks`: ink the model judges not a digit) are boxed apart and never read as digits;
// a digit under MIN_CONFIDENCE comes back rejected, "?" in the text, and is shown as "not sure".
// Plain JS, no dependencies, so the page works offline from the server alone.
//
// Latency: the drawing is exported synchronously (toDataURL of a 280x140 canvas, ~1 ms) — the async
// toBlob path waits for an idle slot and stalled ~1 s after pen-up in Chromium. Pen-up sends at once,
// even while a live request is in flight. Every request carries the drawing's version: once the pen is
// up only the reply for the exact drawing on screen is shown, and a reply from before a clear or undo
// (an older epoch) is never shown at all.
"use strict";

const API = "/api/v1";
const EXPORT_SCALE = 0.5;       // the PNG sent is half the canvas's logical size (280x140): plenty for 28x28 inputs
const LIVE_INTERVAL_MS = 200;   // at most one live request per this interval while drawing
const LIVE_FIRST_MS = 80;       // the first live request of a stroke waits for this much ink
const PHOTO_MAX_SIDE = 2000;    // photos are shrunk to this longer side before upload
const PHOTO_MAX_BYTES = 1_500_000;  // ... and re-encoded above this size even if small enough
const MIN_CONFIDENCE = 0.5;     // calibrated: below one half a digit is more likely wrong than right, so "?"

const $ = (id) => document.getElementById(id);
const pad = $("pad");
const ctx = pad.getContext("2d");
const LOGICAL = { w: pad.width, h: pad.height };
const exportCanvas = document.createElement("canvas");
exportCanvas.width = Math.round(LOGICAL.w * EXPORT_SCALE);
exportCanvas.height = Math.round(LOGICAL.h * EXPORT_SCALE);
const exportCtx = exportCanvas.getContext("2d", { willReadFrequently: true });

const state = {
  mode: "draw",         // "draw" or "photo": which input the result card shows
  strokes: [],          // [{width, points: [[x, y], ...]}] in logical canvas units
  current: null,
  pointerId: null,
  version: 0,           // bumped on every change to the drawing
  epoch: 0,             // bumped when ink is removed (undo, clear): replies from before are never shown
  sentVersion: -1,      // the drawing version of the latest request sent
  lastSent: 0,
  inFlight: 0,
  timer: null,
  seq: 0,               // request counter: a reply older than the one on screen is dropped
  shown: { draw: 0, photo: 0 },  // per tab: the request counter of the reply on screen
  draw: null,           // {version, data}: the reading of the drawing, kept while the Photo tab is open
  photo: null,          // {file, id, body, type, url}
  photoId: 0,
  photoResult: null,    // {id, data}
  selected: { draw: null, photo: null },  // per tab: the key of what is shown in detail: "line:number" or "m:mark"
  onScreen: null,       // the laid-out reading on screen: {data, lines, numbers, marks}
};

// ---------------------------------------------------------------- canvas

function fitCanvas() {
  // sharp strokes on high-DPI screens: back the canvas by device pixels, draw in logical units
  const rect = pad.getBoundingClientRect();
  if (!rect.width) return;
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

function hasInk() { return state.strokes.length > 0 || state.current !== null; }

function render() {
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.clearRect(0, 0, pad.width, pad.height);
  drawStrokes(ctx, pad.width / LOGICAL.w);
  $("pad-hint").hidden = hasInk();
  $("undo").disabled = state.strokes.length === 0;
  $("clear").disabled = state.strokes.length === 0;
}

function toLogical(ev) {
  const rect = pad.getBoundingClientRect();
  return [(ev.clientX - rect.left) * LOGICAL.w / rect.width, (ev.clientY - rect.top) * LOGICAL.h / rect.height];
}

function changed(removed = false) {
  state.version++;
  if (removed) state.epoch++;
}

pad.addEventListener("pointerdown", (ev) => {
  if (state.pointerId !== null || (ev.pointerType === "mouse" && ev.button !== 0)) return;
  ev.preventDefault();
  pad.setPointerCapture(ev.pointerId);
  state.pointerId = ev.pointerId;
  const width = Number($("pen-width").value) * (ev.pointerType === "pen" && ev.pressure > 0 ? 0.6 + 0.8 * ev.pressure : 1);
  state.current = { width, points: [toLogical(ev)] };
  changed();
  markSettled(false);
  render();
});

pad.addEventListener("pointermove", (ev) => {
  if (ev.pointerId !== state.pointerId || !state.current) return;
  ev.preventDefault();
  const events = ev.getCoalescedEvents ? ev.getCoalescedEvents() : [ev];
  for (const e of (events.length ? events : [ev])) state.current.points.push(toLogical(e));
  changed();
  render();
  scheduleLive();
});

function endStroke(ev) {
  if (ev.pointerId !== state.pointerId) return;
  state.pointerId = null;
  if (state.current) state.strokes.push(state.current);  // the same ink: the version does not change
  state.current = null;
  render();
  readNow();
}
pad.addEventListener("pointerup", endStroke);
pad.addEventListener("pointercancel", endStroke);

$("undo").addEventListener("click", undo);
$("clear").addEventListener("click", clearPad);
$("pen-width").addEventListener("input", () => { $("pen-value").textContent = $("pen-width").value; });

function undo() {
  if (state.strokes.length === 0) return;
  state.strokes.pop();
  changed(true);
  render();
  readNow();
}

function clearPad() {
  if (!hasInk()) return;
  state.strokes = [];
  state.current = null;
  state.pointerId = null;
  state.selected.draw = null;
  changed(true);
  render();
  readNow();
}

document.addEventListener("keydown", (ev) => {
  if (state.mode !== "draw" || ev.target.matches("input, textarea")) return;
  if ((ev.ctrlKey || ev.metaKey) && ev.key.toLowerCase() === "z") { ev.preventDefault(); undo(); }
  else if (ev.key === "Escape") clearPad();
});

// ---------------------------------------------------------------- live recognition

function scheduleLive() {
  if (state.mode !== "draw" || state.timer !== null) return;
  const wait = Math.max(LIVE_FIRST_MS, LIVE_INTERVAL_MS - (performance.now() - state.lastSent));
  state.timer = setTimeout(() => {
    state.timer = null;
    if (state.pointerId === null) return;            // the pen went up: readNow() has sent it
    if (state.inFlight > 0) { state.timer = -1; return; }  // sent again when the reply comes
    sendDrawing();
  }, wait);
}

function readNow() {
  // pen up, undo, clear, tab switch: the reading of exactly this drawing, as soon as possible
  if (state.timer !== null && state.timer !== -1) clearTimeout(state.timer);
  state.timer = null;
  if (state.mode !== "draw") return;
  if (!hasInk()) {
    state.draw = { version: state.version, data: null };
    state.sentVersion = state.version;              // nothing to send: this drawing's reading is known
    showResult(null);
    setStatus("");
    markSettled(true);
    return;
  }
  if (state.draw && state.draw.version === state.version) { showResult(state.draw.data); markSettled(true); return; }
  if (state.sentVersion === state.version) return;  // on its way
  sendDrawing();
}

function exportDrawing() {
  // synchronous and small: white paper, dark ink, 280x140 PNG bytes
  const c = exportCtx;
  c.setTransform(1, 0, 0, 1, 0, 0);
  c.fillStyle = "#ffffff";   // opaque paper: the PNG means the same in every decoder
  c.fillRect(0, 0, exportCanvas.width, exportCanvas.height);
  drawStrokes(c, EXPORT_SCALE);
  const url = exportCanvas.toDataURL("image/png");
  const bin = atob(url.slice(url.indexOf(",") + 1));
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return bytes;
}

async function sendDrawing() {
  const version = state.version, epoch = state.epoch;
  state.sentVersion = version;
  state.lastSent = performance.now();
  state.inFlight++;
  let reply;
  try {
    reply = await request(exportDrawing(), "image/png");
  } finally {
    state.inFlight--;
  }
  const current = epoch === state.epoch;                   // else ink was removed since: never show it
  const exact = current && version === state.version;
  if (reply.ok && exact) state.draw = { version, data: reply.data };
  if (current && state.mode === "draw" && reply.seq > state.shown.draw && (exact || state.pointerId !== null)) {
    state.shown.draw = reply.seq;                            // pen up: only the reading of this very drawing
    if (reply.ok) {
      showResult(reply.data);
      setStatus(`read in ${Math.round(reply.ms)} ms`);
    } else {
      setStatus(reply.error, true);
      announce(reply.error);
    }
    markSettled(exact && state.pointerId === null);
  }
  if (state.timer === -1) { state.timer = null; if (state.pointerId !== null) sendDrawing(); }
  else if (state.pointerId === null && state.mode === "draw" && state.sentVersion !== state.version) readNow();
}

async function request(body, type) {
  // {seq, ok, data | error, ms}; never throws
  const seq = ++state.seq;
  const started = performance.now();
  try {
    const res = await fetch(`${API}/recognize?include_inputs=true&min_confidence=${MIN_CONFIDENCE}`, {
      method: "POST", headers: { "Content-Type": type || "application/octet-stream" }, body,
    });
    const data = await res.json().catch(() => ({ detail: res.statusText }));
    const ms = performance.now() - started;
    if (!res.ok) return { seq, ok: false, error: oneLine(data.detail) || `error ${res.status}`, ms };
    return { seq, ok: true, data, ms };
  } catch (err) {
    return { seq, ok: false, error: "the server is unreachable", ms: performance.now() - started };
  }
}

function oneLine(detail) {
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) return detail.map((d) => d.msg || String(d)).join("; ");
  return "";
}

function setStatus(text, isError = false) {
  const el = $("status");
  el.textContent = text;
  el.classList.toggle("error", isError);
}

function announce(text) { $("announce").textContent = text; }

function markSettled(settled) {
  // data-settled: the reading on screen is the reading of the input as it is now (tests and benchmarks wait on it)
  $("number").dataset.settled = String(settled);
  if (settled) announce(spoken(state.onScreen));
}

function spoken(shown) {
  // digit by digit (a screen reader says "2026" as a year); numbers apart by commas, lines named
  if (!shown) return "";
  if (shown.numbers.length === 0) return shown.marks.length ? "Not a digit" : "";
  const spell = (text) => text.split("").map((c) => (c === "?" ? "not sure" : c)).join(" ");
  const line = (l) => l.numbers.map((n) => spell(n.text)).join(", ");
  const marks = shown.marks.length ? `; ${marksText(shown.marks.length)}` : "";
  if (shown.lines.length === 1) return `Read: ${line(shown.lines[0])}${marks}`;
  return `Read ${shown.lines.length} lines: ` + shown.lines.map((l, i) => `line ${i + 1}: ${line(l)}`).join("; ") + marks;
}

function marksText(count) { return count === 1 ? "1 mark is not a digit" : `${count} marks are not digits`; }

// ---------------------------------------------------------------- results

function pct(p) { return `${(100 * p).toFixed(p > 0.995 || p < 0.1 ? 1 : 0)}%`; }

function layoutOf(data) {
  // {data, lines, numbers}: the reply's lines, each number keyed "line:number" with its digits
  const numbers = [];
  const laid = data.lines.map((line, l) => ({
    ...line,
    numbers: line.numbers.map((n, k) => {
      const digits = n.digits.map((i) => data.digits[i]).filter(Boolean);
      const entry = { ...n, key: `${l}:${k}`, line: l, index: k, digitList: digits,
                      unsure: digits.some((d) => d.rejected) };
      numbers.push(entry);
      return entry;
    }),
  }));
  const marks = data.marks.map((m, i) => ({ ...m, key: `m:${i}`, index: i, mark: true }));
  return { data, lines: laid, numbers, marks };
}

function detailed(shown) {
  // what is shown in detail: the number or mark selected, else the only number, else the only mark
  if (!shown) return null;
  const key = state.selected[state.mode];
  const chosen = shown.numbers.find((n) => n.key === key) || shown.marks.find((m) => m.key === key);
  if (chosen) return chosen;
  if (shown.numbers.length === 1) return shown.numbers[0];
  if (shown.numbers.length === 0 && shown.marks.length === 1) return shown.marks[0];
  return null;
}

function showResult(data, waiting) {
  const number = $("number");
  const focused = document.activeElement && document.activeElement.closest ? document.activeElement.closest(".num") : null;
  const refocus = focused ? focused.dataset.key : null;    // a live update keeps the keyboard where it was
  const shown = data ? layoutOf(data) : null;
  state.onScreen = shown;
  const key = state.selected[state.mode];
  if (shown && !shown.numbers.some((n) => n.key === key) && !shown.marks.some((m) => m.key === key)) {
    state.selected[state.mode] = null;
  }
  showMarks(shown);
  if (!shown || shown.numbers.length === 0) {
    const marksOnly = shown !== null && shown.marks.length > 0;
    number.textContent = marksOnly ? "Not a digit" : "—";   // ink, but none of it a digit: say so
    number.dataset.empty = "true";
    if (marksOnly) number.dataset.size = "words"; else delete number.dataset.size;
    $("summary").textContent = marksOnly ? "The model sees ink here, but no digit in it."
      : data ? "No digit found." : waiting || "Nothing read yet.";
    showDetail();
    drawBoxes();
    refocusOn(refocus);
    return;
  }
  number.dataset.empty = "false";
  const several = shown.numbers.length > 1;
  if (!several) {
    number.replaceChildren(...textWithUnsure(shown.numbers[0].text));  // one number: its text, as it always was
  } else if (shown.lines.length === 1) {
    number.replaceChildren(lineElement(shown.lines[0], "div"));
  } else {
    const list = document.createElement("ol");      // lines of a page: a list, read line by line
    list.className = "lines";
    list.setAttribute("aria-label", `${shown.lines.length} lines, top to bottom`);
    shown.lines.forEach((line, l) => {
      if (l > 0) list.append("\n");                 // the element's text is the reply's text
      list.appendChild(lineElement(line, "li"));
    });
    number.replaceChildren(list);
  }
  number.dataset.size = shown.lines.length > 1 ? "lines" : data.text.length > 9 ? "long" : "one";
  const digitCount = data.digits.length;
  const unsure = data.digits.filter((d) => d.rejected).length;
  const lowest = Math.min(...data.digits.map((d) => d.confidence));
  const parts = [];
  if (shown.lines.length > 1) parts.push(`${shown.lines.length} lines`);
  if (several) parts.push(`${shown.numbers.length} numbers`);
  parts.push(`${digitCount} digit${digitCount > 1 ? "s" : ""}`);
  if (unsure) parts.push(`${unsure} not sure (?)`);    // in words: the "?" is more than a colour
  parts.push(`lowest confidence ${pct(lowest)}`);
  $("summary").textContent = parts.join(" · ");
  showDetail();
  drawBoxes();
  refocusOn(refocus);
}

function refocusOn(key) {
  if (!key) return;
  const again = document.querySelector(`#number .num[data-key="${key}"], #marks .num[data-key="${key}"]`);
  if (again) again.focus();
}

function textWithUnsure(text) {
  // the text as is (its textContent is the reply's), each "?" marked as a digit the model is not sure of
  return text.split(/(\?)/).filter(Boolean).map((part) => {
    if (part !== "?") return document.createTextNode(part);
    return Object.assign(document.createElement("span"), { className: "unsure-digit", textContent: "?", title: "not sure" });
  });
}

function showMarks(shown) {
  // "N marks are not digits", each a toggle button like a number's: the keyboard's way to what the model saw
  const row = $("marks");
  row.replaceChildren();
  row.hidden = !shown || shown.marks.length === 0;
  if (row.hidden) return;
  const text = Object.assign(document.createElement("span"), { className: "marks-text", textContent: marksText(shown.marks.length) });
  row.appendChild(text);
  for (const m of shown.marks) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "num mark";
    b.textContent = `mark ${m.index + 1}`;
    b.dataset.key = m.key;
    b.setAttribute("aria-pressed", String(m.key === state.selected[state.mode]));
    b.setAttribute("aria-controls", "digits");
    b.title = `mark ${m.index + 1}: not a digit (${pct(m.confidence)}) — show what the model saw`;
    b.addEventListener("click", () => select(m.key));
    row.append(" ", b);
  }
}

function lineElement(line, tag) {
  const el = document.createElement(tag);
  el.className = "line";
  line.numbers.forEach((n, k) => {
    if (k > 0) el.append(" ");                         // numbers apart by one space, as in the text
    const b = document.createElement("button");
    b.type = "button";
    b.className = "num" + (n.unsure ? " unsure" : "");
    b.replaceChildren(...textWithUnsure(n.text));
    b.dataset.key = n.key;
    b.setAttribute("aria-pressed", String(n.key === state.selected[state.mode]));
    b.setAttribute("aria-controls", "digits");
    if (n.unsure) b.setAttribute("aria-label", `${n.text}, not sure of every digit`);
    b.title = `${n.text}: ${pct(n.confidence)}${n.unsure ? ", ? = not sure" : ""} — show its digits`;
    b.addEventListener("click", () => select(n.key));
    el.appendChild(b);
  });
  return el;
}

function select(key) {
  // a toggle: selecting the selected number (or mark) again hides its detail
  const mode = state.mode;
  state.selected[mode] = state.selected[mode] === key ? null : key;
  for (const b of document.querySelectorAll("#number .num, #marks .num")) {
    b.setAttribute("aria-pressed", String(b.dataset.key === state.selected[mode]));
  }
  showDetail();
  drawBoxes();
}

function showDetail() {
  // the digits of the selected (or only) number, each with its confidence, probabilities and model input;
  // or the selected mark, with what the model saw
  const shown = state.onScreen;
  const list = $("digits"), note = $("detail-note"), title = $("detail-title");
  list.replaceChildren();
  title.textContent = "Each digit, as the model sees it";
  note.hidden = true;
  if (!shown || shown.numbers.length + shown.marks.length === 0) return;
  const n = detailed(shown);
  if (!n) {
    const what = shown.numbers.length === 0 ? "a mark" : "a number";
    note.textContent = state.mode === "photo"
      ? `Select ${what} above, or its box on the photo, to see ${shown.numbers.length ? "its digits" : "what the model saw"}.`
      : `Select ${what} above to see ${shown.numbers.length ? "its digits" : "what the model saw"}.`;
    note.hidden = false;
    return;
  }
  if (n.mark) {
    title.textContent = `Mark ${n.index + 1}, as the model sees it`;
    note.textContent = "Not read as a digit: a letter, a scribble, a shadow or part of a digit. If it is a digit, say which.";
    note.hidden = false;
    list.appendChild(markItem(n));
    return;
  }
  if (shown.numbers.length > 1) {
    title.textContent = n.digitList.length === 1 ? `The digit ${n.text}, as the model sees it`
      : `The digits of ${n.text}, as the model sees them`;
    const where = shown.lines.length > 1 ? `line ${n.line + 1}, number ${n.index + 1}` : `number ${n.index + 1}`;
    note.textContent = `${where} · ${n.digitList.length} digit${n.digitList.length > 1 ? "s" : ""}` +
      ` · ${pct(n.confidence)} for the whole number`;
    note.hidden = false;
  }
  n.digitList.forEach((d, i) => list.appendChild(digitItem(d, i)));
}

function guesses(d) {
  // "maybe 7 (42%), or 1 (31%)": the top guess and the runners-up worth naming, each kept on one line
  const ranked = d.probabilities.map((p, k) => [k, p]).sort((a, b) => b[1] - a[1]);
  const named = ranked.filter(([, p], i) => i === 0 || (i < 3 && p >= 0.1));
  const nowrap = (text) => Object.assign(document.createElement("span"), { className: "nowrap", textContent: text });
  return named.flatMap(([k, p], i) => [i ? ", " : "", nowrap(`${i ? "or" : "maybe"} ${k} (${pct(p)})`)]).filter(Boolean);
}

function markItem(m) {
  // like a digit's card, without bars (a mark has no digit probabilities): its input and how sure the model is
  const item = $("digit-template").content.firstElementChild.cloneNode(true);
  item.classList.add("mark-item");
  item.querySelector(".seen").src = m.input || "";
  item.querySelector(".seen").alt = `28 by 28 model input of mark ${m.index + 1}`;
  item.querySelector(".digit-value").textContent = "✕";
  item.querySelector(".digit-value").setAttribute("aria-hidden", "true");
  item.querySelector(".digit-conf").textContent = `not a digit (${pct(m.confidence)})`;
  item.querySelector(".digit-conf").classList.remove("muted");
  item.querySelector(".bars").remove();
  const wrong = item.querySelector(".wrong");
  wrong.textContent = "It is a digit";
  wrong.setAttribute("aria-label", `It is a digit: say which digit mark ${m.index + 1} is`);
  fixKeys(m, item);
  return item;
}

function digitItem(d, index) {
  const item = $("digit-template").content.firstElementChild.cloneNode(true);
  const label = d.rejected ? "?" : String(d.digit);
  item.querySelector(".seen").src = d.input || "";
  item.querySelector(".seen").alt = `28 by 28 model input of digit ${index + 1}`;
  item.querySelector(".digit-value").textContent = label;
  const conf = item.querySelector(".digit-conf");
  if (d.rejected) {
    const named = Object.assign(document.createElement("span"), { className: "guesses" });  // wraps as one
    named.replaceChildren(...guesses(d));
    conf.replaceChildren("not sure — ", named);
  } else conf.textContent = pct(d.confidence);
  if (d.rejected) { item.classList.add("not-sure"); conf.classList.replace("muted", "not-sure-text"); }
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
  if (d.rejected) {                                     // nothing to call wrong: ask instead
    wrong.textContent = "Say which";
    wrong.setAttribute("aria-label", `Say which digit it is: digit ${index + 1} is not sure`);
  } else {
    wrong.setAttribute("aria-label", `That's wrong: digit ${index + 1} is not ${label}`);
  }
  fixKeys(d, item);
  return item;
}

function fixKeys(d, item) {
  // the 0-9 keys behind the card's correction button: a correction is sent with the input the model saw
  const wrong = item.querySelector(".wrong");
  const fix = item.querySelector(".fix");
  const keys = item.querySelector(".fix-keys");
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
}

async function sendFeedback(d, label, item) {
  const fix = item.querySelector(".fix");
  try {
    const blob = await (await fetch(d.input)).blob();   // the 28x28 input, exactly what the model saw
    const form = new FormData();
    form.append("image", blob, "digit.png");
    form.append("label", String(label));
    if (d.digit != null) form.append("predicted", String(d.digit));  // a mark had no digit to be wrong about
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

// ---------------------------------------------------------------- tabs (WAI-ARIA tabs, automatic activation)

const TABS = [$("tab-draw"), $("tab-photo")];

function setMode(mode) {
  if (mode === state.mode) return;
  state.mode = mode;
  for (const tab of TABS) {
    const on = tab.id === `tab-${mode}`;
    tab.setAttribute("aria-selected", String(on));
    tab.tabIndex = on ? 0 : -1;               // roving tabindex: the tab list is one tab stop
  }
  $("draw-panel").hidden = mode !== "draw";
  $("photo-panel").hidden = mode !== "photo";
  setStatus("");
  if (mode === "draw") {
    fitCanvas();
    if (state.draw && state.draw.version === state.version) { showResult(state.draw.data); markSettled(true); }
    else { showResult(null, hasInk() ? "Reading…" : undefined); markSettled(!hasInk()); readNow(); }
  } else if (state.photo && state.photoResult && state.photoResult.id === state.photo.id) {
    showResult(state.photoResult.data); markSettled(true);
  } else {
    showResult(null, state.photo ? "Reading…" : undefined);
    markSettled(!state.photo);
    if (state.photo && !state.photo.pending) readPhoto(state.photo);
  }
}

for (const tab of TABS) tab.addEventListener("click", () => setMode(tab.id.slice(4)));
$("tab-draw").parentElement.addEventListener("keydown", (ev) => {
  const i = TABS.indexOf(document.activeElement);
  if (i < 0) return;
  let next = null;
  if (ev.key === "ArrowRight" || ev.key === "ArrowDown") next = (i + 1) % TABS.length;
  else if (ev.key === "ArrowLeft" || ev.key === "ArrowUp") next = (i - 1 + TABS.length) % TABS.length;
  else if (ev.key === "Home") next = 0;
  else if (ev.key === "End") next = TABS.length - 1;
  if (next === null) return;
  ev.preventDefault();
  setMode(TABS[next].id.slice(4));
  TABS[next].focus();
});

// ---------------------------------------------------------------- photos: choose, drop, paste, examples

function showPhotoError(text) {
  const el = $("photo-error");
  el.textContent = text;
  el.title = text;
  el.hidden = !text;
}

function loadImage(blob) {
  // an <img> decode honours EXIF orientation as the page displays it; works for every format the browser reads
  return new Promise((resolve, reject) => {
    const img = new Image();
    const url = URL.createObjectURL(blob);
    img.onload = () => { URL.revokeObjectURL(url); resolve(img); };
    img.onerror = () => { URL.revokeObjectURL(url); reject(new Error("not a readable image")); };
    img.src = url;
  });
}

async function decodePhoto(file) {
  // an ImageBitmap (or <img>) upright as displayed; throws when the browser cannot read the file
  if (window.createImageBitmap) {
    try { return await createImageBitmap(file, { imageOrientation: "from-image" }); } catch (err) { /* fall back */ }
  }
  return loadImage(file);
}

function canvasBlob(canvas, type, quality) {
  // OffscreenCanvas encodes at once; HTMLCanvasElement.toBlob waits for an idle slot (up to ~1 s in Chromium)
  if (canvas.convertToBlob) return canvas.convertToBlob({ type, quality }).catch(() => null);
  return new Promise((resolve) => canvas.toBlob(resolve, type, quality));
}

function newCanvas(width, height) {
  if (window.OffscreenCanvas) return new OffscreenCanvas(width, height);
  return Object.assign(document.createElement("canvas"), { width, height });
}

async function preparePhoto(file) {
  // {body, type, width, height}: the file as is when small, else shrunk to PHOTO_MAX_SIDE on white paper
  const image = await decodePhoto(file);
  const w = image.width, h = image.height;
  if (!w || !h) throw new Error("not a readable image");
  const plain = /^image\/(png|jpeg)$/.test(file.type);
  if (plain && Math.max(w, h) <= PHOTO_MAX_SIDE && file.size <= PHOTO_MAX_BYTES) {
    if (image.close) image.close();
    return { body: file, type: file.type, width: w, height: h, shrunk: false };
  }
  const scale = Math.min(1, PHOTO_MAX_SIDE / Math.max(w, h));
  const canvas = newCanvas(Math.max(1, Math.round(w * scale)), Math.max(1, Math.round(h * scale)));
  const c = canvas.getContext("2d");
  c.fillStyle = "#ffffff";            // transparent pixels become paper, as in the drawings
  c.fillRect(0, 0, canvas.width, canvas.height);
  c.imageSmoothingQuality = "high";
  c.drawImage(image, 0, 0, canvas.width, canvas.height);
  if (image.close) image.close();
  const type = file.type === "image/png" ? "image/png" : "image/jpeg";
  let blob = await canvasBlob(canvas, type, 0.92);
  if (blob && type === "image/png" && blob.size > PHOTO_MAX_BYTES * 2) blob = await canvasBlob(canvas, "image/jpeg", 0.92);
  if (!blob) throw new Error("could not shrink the image");
  return { body: blob, type: blob.type, width: canvas.width, height: canvas.height, shrunk: true };
}

function showPhotoEmpty() {
  $("photo-empty").hidden = false;
  $("photo-view").hidden = true;
  $("photo-toolbar").hidden = true;
  $("photo").removeAttribute("src");
}

async function usePhoto(file) {
  const id = ++state.photoId;
  if (state.photo && state.photo.url) URL.revokeObjectURL(state.photo.url);
  state.photo = null;                   // the old photo is not read again on the way to the Photo tab
  state.selected.photo = null;          // a new photo starts with no number chosen
  if (state.mode !== "photo") setMode("photo");
  const name = (file && file.name) || "pasted image";
  if (!file || !(file.type.startsWith("image/") || file.type === "")) {
    showPhotoEmpty();
    showResult(null);
    markSettled(true);
    showPhotoError(`“${name}” is not an image — choose a JPEG or PNG photo.`);
    return;
  }
  showPhotoError("");
  showResult(null, "Opening the image…");
  markSettled(false);
  setStatus("");
  let prepared;
  try {
    prepared = await preparePhoto(file);
  } catch (err) {
    if (id !== state.photoId) return;
    showPhotoEmpty();
    showResult(null);
    setStatus("");
    markSettled(true);
    showPhotoError(`Could not open “${name}”: it is not an image this browser can read.`);
    return;
  }
  if (id !== state.photoId) return;
  const photo = { id, name, body: prepared.body, type: prepared.type, url: URL.createObjectURL(prepared.body) };
  state.photo = photo;
  const img = $("photo");
  img.src = photo.url;                  // what is shown is what is sent: the boxes line up
  $("photo-empty").hidden = true;
  $("photo-view").hidden = false;
  $("photo-toolbar").hidden = false;
  $("photo-name").textContent = prepared.shrunk ? `${name} (shrunk to ${prepared.width}×${prepared.height})` : name;
  $("photo-name").title = $("photo-name").textContent;
  $("boxes").replaceChildren();
  await readPhoto(photo);
}

async function readPhoto(photo) {
  setStatus("reading…");
  markSettled(false);
  photo.pending = true;
  const reply = await request(photo.body, photo.type);
  photo.pending = false;
  if (!state.photo || state.photo.id !== photo.id) return;   // another photo since
  if (reply.ok) state.photoResult = { id: photo.id, data: reply.data };
  if (state.mode !== "photo" || reply.seq <= state.shown.photo) return;
  state.shown.photo = reply.seq;
  if (reply.ok) {
    showResult(reply.data);
    setStatus(`read in ${Math.round(reply.ms)} ms`);
  } else {
    showResult(null);
    setStatus("");
    showPhotoError(`Could not read “${photo.name}”: ${reply.error}.`);
  }
  markSettled(true);
}

function placed(box, data, className) {
  const [x0, y0, x1, y1] = box;
  const el = document.createElement("div");
  el.className = className;
  Object.assign(el.style, {  // percentages: boxes follow the image as it is resized
    left: `${100 * x0 / data.width}%`, top: `${100 * y0 / data.height}%`,
    width: `${100 * (x1 - x0) / data.width}%`, height: `${100 * (y1 - y0) / data.height}%`,
  });
  return el;
}

function drawBoxes() {
  // the photo: a box per number (the selected one stands out), the detailed number's digits faintly inside;
  // the drawing: the selected number's box only, the ink is the picture there. On both, always: each digit
  // the model is not sure of ("?"), and each mark, dashed apart and labelled: never taken for a digit
  const shown = state.onScreen;
  const photo = state.mode === "photo";
  const layer = photo ? $("boxes") : $("pad-boxes");
  $(photo ? "pad-boxes" : "boxes").replaceChildren();
  layer.replaceChildren();
  if (!shown || !shown.data.width || !shown.data.height) return;
  const data = shown.data;
  // many boxes: tags on the chosen box (and on hover) only
  layer.classList.toggle("crowded", shown.numbers.length > 4 || shown.numbers.length + shown.marks.length > 6);
  const selected = state.selected[state.mode];
  const open = detailed(shown);
  const tagged = (box, className, text) => {
    box.appendChild(Object.assign(document.createElement("span"), { className, textContent: text }));
    if (box.classList.contains("rightmost")) box.lastChild.classList.add("end");
    return box;
  };
  const edge = (b) => (b[2] / data.width > 0.8 ? " rightmost" : "");  // its label inside the picture, not past it
  for (const n of shown.numbers) {
    const chosen = n.key === selected;
    if (photo || chosen) {
      const box = placed(n.box, data, "box number-box" + (n.unsure ? " rejected" : "") + (chosen ? " selected" : ""));
      box.dataset.key = n.key;
      layer.appendChild(tagged(box, "tag", n.text));
    }
    for (const d of n.digitList) {
      if (d.rejected) layer.appendChild(tagged(placed(d.box, data, "box digit-box rejected" + edge(d.box)), "tag unsure-tag", "? not sure"));
      else if (photo && n === open) layer.appendChild(placed(d.box, data, "box digit-box"));
    }
  }
  for (const m of shown.marks) {
    const box = placed(m.box, data, "box mark-box" + edge(m.box) + (m.key === selected || m === open ? " selected" : ""));
    box.dataset.key = m.key;
    layer.appendChild(tagged(box, "tag mark-tag", "not a digit"));
  }
}

// a click on a box on the photo selects its number or mark, as its button in the reading does (the keyboard's way)
$("boxes").addEventListener("click", (ev) => {
  const box = ev.target.closest(".box.number-box, .box.mark-box");
  if (!box || !state.onScreen) return;
  const shown = state.onScreen;
  if (box.classList.contains("mark-box") || shown.numbers.length > 1 || state.selected.photo) select(box.dataset.key);
});

$("photo").addEventListener("error", () => { if ($("photo").getAttribute("src")) showPhotoEmpty(); });
$("choose").addEventListener("click", () => $("file").click());
$("choose-another").addEventListener("click", () => $("file").click());
$("file").addEventListener("change", (ev) => {
  const file = ev.target.files[0];
  ev.target.value = "";                 // choosing the same file again reads it again
  if (file) usePhoto(file);
});
for (const button of document.querySelectorAll(".example")) {
  button.addEventListener("click", async () => {
    try {
      const res = await fetch(button.dataset.src);
      if (!res.ok) throw new Error(res.statusText);
      const blob = await res.blob();
      await usePhoto(new File([blob], button.dataset.name, { type: blob.type }));
    } catch (err) {
      showPhotoError("Could not load the example from the server.");
    }
  });
}
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
  // the name only: MNIST accuracy is not accuracy on people's handwriting, so it stays in the details
  const chip = $("model-chip"), card = $("model-card");
  try {
    const info = await (await fetch(`${API}/model`)).json();
    chip.textContent = `model: ${info.name}`;
    const lines = [];
    // this build's own figures; a model trained on a mixture names its MNIST part apart
    const val = (info.metrics?.val_mnist ?? info.metrics?.val)?.accuracy, test = info.metrics?.test?.accuracy;
    if (val != null) lines.push(`MNIST validation accuracy: ${(100 * val).toFixed(2)}%`);
    if (test != null) lines.push(`MNIST test accuracy: ${(100 * test).toFixed(2)}%`);
    lines.push("Measured on MNIST's scanned digits — real handwriting and photos are read less accurately.");
    card.replaceChildren(...lines.map((t) => Object.assign(document.createElement("p"), { textContent: t })));
  } catch (err) {
    chip.textContent = "model: unavailable";
    card.textContent = "The model card could not be loaded.";
  }
}

window.addEventListener("resize", fitCanvas);
fitCanvas();
loadModel();
