// Browser front end of the face-completion app: open a photo, paint the hole
// to fill, watch a live preview, run a completion, compare and download it.
// Everything talks to the same-origin HTTP API (/api/...) of dcgan_tf.app.

const $ = (id) => document.getElementById(id);

const ui = {
  fileInput: $("file-input"),
  samples: $("samples"),
  modelInfo: $("model-info"),
  complete: $("complete"),
  refine: $("refine"),
  seed: $("seed"),
  download: $("download"),
  brush: $("brush"),
  eraser: $("eraser"),
  size: $("size"),
  sizeValue: $("size-value"),
  undo: $("undo"),
  redo: $("redo"),
  clear: $("clear"),
  presets: {
    center: $("preset-center"),
    left: $("preset-left"),
    strokes: $("preset-strokes"),
  },
  compare: $("compare"),
  holdOriginal: $("hold-original"),
  showSources: $("show-sources"),
  sourcesOverlay: $("sources-overlay"),
  emptyState: $("empty-state"),
  editor: $("editor"),
  photoCanvas: $("photo-canvas"),
  maskCanvas: $("mask-canvas"),
  facesOverlay: $("faces-overlay"),
  brushCursor: $("brush-cursor"),
  previewInfo: $("preview-info"),
  progress: $("progress"),
  progressText: $("progress-text"),
  resultStage: $("result-stage"),
  originalCanvas: $("original-canvas"),
  result: $("result"),
  compareLine: $("compare-line"),
  status: $("status"),
};

// The mask is read back for every preview, hence willReadFrequently (without
// it Chrome warns in the console and reads back slowly).
const maskCtx = ui.maskCanvas.getContext("2d", { willReadFrequently: true });

// Paint is drawn opaque; the mask canvas's CSS opacity makes it translucent,
// so overlapping strokes do not darken.
const HOLE_COLOR = "#ff2d3d";
// Antialiased stroke edges count as hole when at least half covered.
const HOLE_ALPHA = 128;
// The source overlay's colours (RGBA) of a hole pixel filled by a face's model and of one
// filled from its surroundings; in the server's source map, 255 is the surroundings, 1-254
// a face and 0 a kept pixel.
const FACE_SOURCE_RGBA = [59, 130, 246, 150];
const SURROUNDINGS_SOURCE_RGBA = [249, 115, 22, 150];
const SURROUNDINGS_LABEL = 255;

const app = {
  // GET /api/info; the defaults apply until (or if never) it answers.
  info: { methods: [], samples: 0, max_upload_bytes: Infinity, max_pixels: Infinity },
  photo: null, // the open photo, see newPhoto()
  loads: 0, // counts photo loads, so a slow decode cannot replace a newer photo
  tool: "brush",
  stroke: null, // the stroke being painted: {op, pointerId}
  running: null, // AbortController of the running completion
  downloadUrl: null,
  holders: new Set(), // what holds the original in view: "key", "button"
  statusFromPreview: false, // whether #status shows a preview error
};

// ---------------------------------------------------------------- helpers

/** An error reply of the API, with its HTTP status. */
class ApiError extends Error {
  constructor(message, status, retryAfter = 0) {
    super(message);
    this.status = status;
    this.retryAfter = retryAfter; // seconds, from the Retry-After header of a 503
  }
}

/**
 * fetch(url, options), its response if 2xx; else throws an ApiError with the
 * server's message (status 0 when the server cannot be reached).
 */
async function request(url, options = {}) {
  let response;
  try {
    response = await fetch(url, options);
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError("Cannot reach the server", 0);
  }
  if (response.ok) return response;
  let detail = "";
  try {
    detail = formatDetail((await response.json()).detail);
  } catch {
    // Not a JSON error body (e.g. a proxy's page): fall back to the status text.
  }
  const { status } = response;
  const retryAfter = Number(response.headers.get("Retry-After")) || 0;
  let message;
  if (status === 503) {
    message = retryAfter ? `Server busy, retry in ${retryAfter} s` : "Server busy, retry in a moment";
  } else if (status === 413) {
    message = detail || "The photo is too large for the server";
  } else {
    message = detail || `Server error ${status} ${response.statusText}`.trim();
  }
  throw new ApiError(message, status, retryAfter);
}

/** FastAPI's `detail` is a string, or a list of validation errors for malformed requests. */
function formatDetail(detail) {
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) return detail.map((item) => item.msg ?? JSON.stringify(item)).join("; ");
  return detail ? JSON.stringify(detail) : "";
}

/** A message for the status line from any error a request can raise. */
function describeError(error) {
  if (error instanceof ApiError) return error.message;
  if (error instanceof SyntaxError) return "The server sent an unreadable reply";
  return error.message || String(error);
}

/** The multipart body of a request about `photo`: the original bytes, plus a mask and fields. */
function photoForm(photo, maskPng = null, fields = {}) {
  const form = new FormData();
  form.append("image", photo.blob, photo.name);
  if (maskPng) form.append("mask", maskPng, "mask.png");
  for (const [key, value] of Object.entries(fields)) form.append(key, value);
  return form;
}


function setStatus(text, tone = "info", fromPreview = false) {
  ui.status.textContent = text;
  ui.status.dataset.tone = tone;
  app.statusFromPreview = fromPreview;
}

function megabytes(bytes) {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

/** The longest duration (ms) in a Server-Timing header, which covers the others. */
function serverMillis(header) {
  const durations = [...(header ?? "").matchAll(/dur=([\d.]+)/g)].map((match) => Number(match[1]));
  return durations.length ? Math.max(...durations) : null;
}

/**
 * What filled the painted area, for #status: e.g. "2 faces completed; 18% of the painted
 * area filled from its surroundings". `faces` holds each face's share of the hole and
 * `classical` the share filled from the surroundings (both in [0, 1]); `note` says why no
 * face's model filled any of it (then it is all there is to say).
 */
function describeSources({ faces = [], classical = 0, note = "" }) {
  if (faces.length === 0) return note || (classical > 0 ? "the painted area filled from its surroundings" : "");
  const parts = [`${faces.length} face${faces.length === 1 ? "" : "s"} completed`];
  if (classical > 0) {
    const percent = Math.round(100 * classical);
    parts.push(`${percent < 1 ? "under 1" : percent}% of the painted area filled from its surroundings`);
  }
  return parts.join("; ");
}

/** The X-Hole-Sources and X-Fill-Note headers of a fill's answer, as describeSources takes them. */
function sourcesOf(response) {
  let shares = {};
  try {
    shares = JSON.parse(response.headers.get("X-Hole-Sources") ?? "{}");
  } catch {
    // An unreadable header: say nothing about the sources.
  }
  return { ...shares, note: response.headers.get("X-Fill-Note") ?? "" };
}

function base64ToBlob(base64, type) {
  const chars = atob(base64);
  const bytes = new Uint8Array(chars.length);
  for (let i = 0; i < chars.length; i++) bytes[i] = chars.charCodeAt(i);
  return new Blob([bytes], { type });
}

// ---------------------------------------------------------------- server info and samples

async function loadInfo() {
  try {
    const response = await request("/api/info");
    app.info = { ...app.info, ...(await response.json()) };
    const { model, image_size: size } = app.info;
    if (model) ui.modelInfo.textContent = size ? `${model} · ${size} px` : model;
    addSampleButtons(app.info.samples);
    if (!app.photo) setStatus("Open a photo, drop or paste one, or try a sample.");
  } catch (error) {
    setStatus(`Cannot read the server's settings: ${describeError(error)}`, "error");
  }
  updateControls();
}

function addSampleButtons(count) {
  for (let k = 0; k < count; k++) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "sample";
    button.title = `Try sample photo ${k + 1}`;
    const thumbnail = new Image();
    thumbnail.src = `/api/samples/${k}`;
    thumbnail.alt = `Sample ${k + 1}`;
    button.append(thumbnail);
    button.addEventListener("click", () => loadSample(k));
    ui.samples.append(button);
  }
}

/** Opens sample k as if the user had uploaded it. */
async function loadSample(k) {
  setStatus(`Loading sample ${k + 1}…`);
  try {
    const response = await request(`/api/samples/${k}`);
    await openPhoto(await response.blob(), `sample-${k}.png`);
  } catch (error) {
    setStatus(describeError(error), "error");
  }
}

// ---------------------------------------------------------------- opening a photo

function newPhoto(blob, name, bitmap) {
  return {
    blob, // the bytes as opened, sent unchanged with every request
    name,
    bitmap, // decoded upright (EXIF orientation applied, like the server)
    width: bitmap.width,
    height: bitmap.height,
    faces: [],
    summary: "", // what #status says about the faces
    history: [], // mask edits (see applyOp); the first `done` are applied
    done: 0,
    version: 0, // bumped by every mask change
    preview: { busy: false, dirty: false },
    shown: { version: 0, final: false }, // what the result view shows
    maskCache: null, // see currentMask()
  };
}

async function openPhoto(blob, name) {
  const { max_upload_bytes: maxBytes, max_pixels: maxPixels } = app.info;
  if (blob.size > maxBytes) {
    setStatus(`This file is ${megabytes(blob.size)}; the server accepts up to ${megabytes(maxBytes)}.`, "error");
    return;
  }
  const load = ++app.loads;
  let bitmap;
  try {
    bitmap = await createImageBitmap(blob, { imageOrientation: "from-image" });
  } catch {
    setStatus(`“${name}” cannot be opened as an image.`, "error");
    return;
  }
  if (load !== app.loads) {
    bitmap.close(); // a newer photo was opened meanwhile
    return;
  }
  if (bitmap.width * bitmap.height > maxPixels) {
    bitmap.close();
    setStatus(`This photo has ${(bitmap.width * bitmap.height / 1e6).toFixed(1)} megapixels; the server accepts up to ${(maxPixels / 1e6).toFixed(1)}.`, "error");
    return;
  }
  cancelCompletion();
  app.photo?.bitmap.close();
  app.photo = newPhoto(blob, name, bitmap);
  resetResult();
  showPhoto(app.photo);
  detectFaces(app.photo);
}

/** Sizes every canvas to the photo and draws it; the mask starts empty. */
function showPhoto(photo) {
  const { width, height } = photo;
  for (const canvas of [ui.photoCanvas, ui.maskCanvas, ui.originalCanvas, ui.result, ui.sourcesOverlay]) {
    canvas.width = width;
    canvas.height = height;
  }
  for (const canvas of [ui.photoCanvas, ui.originalCanvas, ui.result]) {
    canvas.getContext("2d").drawImage(photo.bitmap, 0, 0, width, height);
  }
  for (const stage of [ui.editor, ui.resultStage]) {
    stage.style.setProperty("--aspect", width / height);
    stage.hidden = false;
  }
  ui.emptyState.hidden = true;
  ui.facesOverlay.setAttribute("viewBox", `0 0 ${width} ${height}`);
  ui.facesOverlay.replaceChildren();
  fitBrushSize(photo);
  updateControls();
}

async function detectFaces(photo) {
  document.body.dataset.faces = "pending";
  setStatus("Looking for faces…");
  try {
    const response = await request("/api/faces", { method: "POST", body: photoForm(photo) });
    const found = await response.json();
    if (photo !== app.photo) return;
    if (found.width !== photo.width || found.height !== photo.height) {
      // The server decoded another size: use its size, as every mask must match it.
      photo.width = found.width;
      photo.height = found.height;
      photo.history = [];
      photo.done = 0;
      photo.version++;
      showPhoto(photo);
    }
    photo.faces = found.faces ?? [];
    drawFaces(photo);
    const count = photo.faces.length;
    photo.summary = (count === 0 ? "no face found" : `${count} face${count === 1 ? "" : "s"} found`) +
      notUsed(found.rejected ?? []);
    setStatus(photo.summary, count ? "ok" : "error");
    document.body.dataset.faces = "ready";
  } catch (error) {
    if (photo !== app.photo) return;
    photo.summary = describeError(error);
    setStatus(photo.summary, "error");
    document.body.dataset.faces = "error";
  }
  updateControls();
}

function svgElement(name, attributes) {
  const element = document.createElementNS("http://www.w3.org/2000/svg", name);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, value);
  return element;
}

/** What #status adds about the detections the server does not use (not outlined, no preset). */
function notUsed(rejected) {
  if (rejected.length === 0) return "";
  const reasons = rejected.slice(0, 2).map(({ reason }) => reason).join("; ");
  const more = rejected.length > 2 ? `; ${rejected.length - 2} more` : "";
  return ` (${rejected.length} detection${rejected.length === 1 ? "" : "s"} not used: ${reasons}${more})`;
}

/** Outlines each face to use and dots its landmarks, in photo pixels (the SVG's viewBox). */
function drawFaces(photo) {
  const shapes = photo.faces.flatMap(({ box: [x, y, w, h], landmarks = [] }) => [
    svgElement("rect", { x, y, width: w, height: h, class: "face-box" }),
    ...landmarks.map(([cx, cy]) => svgElement("circle", { cx, cy, r: Math.max(1, w * 0.015), class: "landmark" })),
  ]);
  ui.facesOverlay.replaceChildren(...shapes);
}

// ---------------------------------------------------------------- the mask and its history
//
// The history holds edit operations rather than pixels, so undo costs no
// memory per step: undo replays the operations still applied.
//   {kind: "stroke", tool: "brush"|"eraser", size, points: [{x, y}, ...]}
//   {kind: "rect", rect: [x, y, w, h]}
//   {kind: "replace", ops: [...]}  clears the mask, then applies ops (presets, clear)

function applyOp(ctx, op) {
  if (op.kind === "replace") {
    ctx.clearRect(0, 0, ctx.canvas.width, ctx.canvas.height);
    for (const inner of op.ops) applyOp(ctx, inner);
  } else if (op.kind === "rect") {
    ctx.globalCompositeOperation = "source-over";
    ctx.fillStyle = HOLE_COLOR;
    ctx.fillRect(...op.rect);
  } else {
    paintStroke(ctx, op);
  }
}

/** Paints a stroke's points from index `first` on: a dot for the first point, then round-capped segments. */
function paintStroke(ctx, stroke, first = 0) {
  const { points, size } = stroke;
  ctx.globalCompositeOperation = stroke.tool === "eraser" ? "destination-out" : "source-over";
  ctx.fillStyle = ctx.strokeStyle = HOLE_COLOR;
  ctx.lineWidth = size;
  ctx.lineCap = ctx.lineJoin = "round";
  for (let i = first; i < points.length; i++) {
    ctx.beginPath();
    if (i === 0) {
      ctx.arc(points[0].x, points[0].y, size / 2, 0, 2 * Math.PI);
      ctx.fill();
    } else {
      ctx.moveTo(points[i - 1].x, points[i - 1].y);
      ctx.lineTo(points[i].x, points[i].y);
      ctx.stroke();
    }
  }
}

/** Adds an edit to the history (dropping the redo steps) and applies it. */
function commitOp(op) {
  const photo = app.photo;
  photo.history.splice(photo.done, Infinity, op);
  photo.done = photo.history.length;
  applyOp(maskCtx, op);
  maskChanged();
}

function undo() {
  const photo = app.photo;
  if (!photo || app.stroke || photo.done === 0) return;
  photo.done--;
  applyOp(maskCtx, { kind: "replace", ops: photo.history.slice(0, photo.done) });
  maskChanged();
}

function redo() {
  const photo = app.photo;
  if (!photo || app.stroke || photo.done === photo.history.length) return;
  applyOp(maskCtx, photo.history[photo.done++]);
  maskChanged();
}

function maskChanged() {
  app.photo.version++;
  ui.showSources.disabled = true; // the last completion's sources are not this mask's
  toggleSources(false);
  updateControls();
  requestPreview();
}

/**
 * The mask as the API wants it, cached per mask version: {version, empty, png}
 * where png is a W x H PNG Blob, white = keep, black = hole (null when the
 * mask is empty).
 */
function currentMask(photo) {
  if (photo.maskCache?.version !== photo.version) {
    const { width, height } = ui.maskCanvas;
    const paint = maskCtx.getImageData(0, 0, width, height).data;
    const mask = new ImageData(width, height);
    const pixels = mask.data;
    pixels.fill(255);
    let empty = true;
    for (let alpha = 3; alpha < paint.length; alpha += 4) {
      if (paint[alpha] >= HOLE_ALPHA) {
        pixels[alpha - 3] = pixels[alpha - 2] = pixels[alpha - 1] = 0;
        empty = false;
      }
    }
    photo.maskCache = { version: photo.version, empty, png: empty ? null : encodePng(mask) };
  }
  return photo.maskCache;
}

/**
 * Synchronous on purpose: Chrome runs toBlob/convertToBlob in idle time,
 * which a page busy with painting may not have for up to a second.
 */
function encodePng(imageData) {
  const canvas = document.createElement("canvas");
  canvas.width = imageData.width;
  canvas.height = imageData.height;
  canvas.getContext("2d").putImageData(imageData, 0, 0);
  const dataUrl = canvas.toDataURL("image/png");
  return base64ToBlob(dataUrl.slice(dataUrl.indexOf(",") + 1), "image/png");
}

// ---------------------------------------------------------------- presets

function rectOp(x, y, w, h) {
  return { kind: "rect", rect: [x, y, w, h] };
}

/** The middle of a face: the central 40% of its width, from the eyes to the mouth. */
function centerPreset({ box: [x, y, w, h], landmarks }) {
  let top = y + 0.3 * h;
  let bottom = y + 0.85 * h;
  if (landmarks?.length === 5) {
    // Landmark order: left eye, right eye, nose, left and right mouth corners.
    const [leftEye, rightEye, , leftMouth, rightMouth] = landmarks;
    top = Math.min(leftEye[1], rightEye[1]) - 0.08 * h;
    bottom = Math.max(leftMouth[1], rightMouth[1]) + 0.08 * h;
  }
  return [rectOp(x + 0.3 * w, top, 0.4 * w, bottom - top)];
}

function leftPreset({ box: [x, y, w, h] }) {
  return [rectOp(x, y, w / 2, h)];
}

/** Three thick random strokes across a face, each a gentle curve from its left side to its right. */
function strokesPreset({ box: [x, y, w, h] }) {
  const random = (low, high) => low + Math.random() * (high - low);
  return Array.from({ length: 3 }, () => {
    const start = { x: x + random(0, 0.2) * w, y: y + random(0.2, 0.9) * h };
    const end = { x: x + random(0.8, 1) * w, y: y + random(0.2, 0.9) * h };
    const bend = { x: x + random(0.3, 0.7) * w, y: y + random(0.1, 1) * h };
    // Points along the quadratic Bezier start -> bend -> end.
    const points = Array.from({ length: 12 }, (_, i) => {
      const t = i / 11;
      const a = (1 - t) ** 2;
      const b = 2 * t * (1 - t);
      const c = t ** 2;
      return { x: a * start.x + b * bend.x + c * end.x, y: a * start.y + b * bend.y + c * end.y };
    });
    return { kind: "stroke", tool: "brush", size: Math.max(2, 0.1 * w), points };
  });
}

const PRESETS = { center: centerPreset, left: leftPreset, strokes: strokesPreset };

function applyPreset(name) {
  commitOp({ kind: "replace", ops: app.photo.faces.flatMap(PRESETS[name]) });
}

// ---------------------------------------------------------------- painting

function setTool(tool) {
  app.tool = tool;
  ui.brush.setAttribute("aria-pressed", tool === "brush");
  ui.eraser.setAttribute("aria-pressed", tool === "eraser");
  ui.brushCursor.classList.toggle("eraser", tool === "eraser");
}

/** Brush sizes in photo pixels, scaled to the photo; the default is 1/16 of its long side. */
function fitBrushSize({ width, height }) {
  const longSide = Math.max(width, height);
  ui.size.min = Math.max(1, Math.round(longSide / 200));
  ui.size.max = Math.max(8, Math.round(longSide / 4));
  ui.size.value = Math.round(longSide / 16);
  showSize();
}

/** Grows (direction 1) or shrinks (-1) the brush by about 20%, and by at least a pixel. */
function stepSize(direction) {
  const size = Number(ui.size.value);
  ui.size.value = direction > 0 ? Math.max(size + 1, Math.round(size * 1.2)) : Math.min(size - 1, Math.round(size / 1.2));
  showSize();
}

function showSize() {
  ui.sizeValue.textContent = `${ui.size.value} px`;
  const rect = ui.maskCanvas.getBoundingClientRect();
  const diameter = ui.maskCanvas.width ? (Number(ui.size.value) * rect.width) / ui.maskCanvas.width : 0;
  ui.brushCursor.style.setProperty("--diameter", `${diameter}px`);
}

/** A pointer event's position in photo pixels. */
function toPhoto(event) {
  const rect = ui.maskCanvas.getBoundingClientRect();
  return {
    x: ((event.clientX - rect.left) * ui.maskCanvas.width) / rect.width,
    y: ((event.clientY - rect.top) * ui.maskCanvas.height) / rect.height,
  };
}

function moveBrushCursor(event) {
  const rect = ui.editor.getBoundingClientRect();
  ui.brushCursor.style.left = `${event.clientX - rect.left}px`;
  ui.brushCursor.style.top = `${event.clientY - rect.top}px`;
  ui.brushCursor.hidden = event.pointerType === "touch";
}

function onPointerDown(event) {
  if (!app.photo || app.stroke || event.button !== 0) return;
  event.preventDefault();
  ui.maskCanvas.setPointerCapture(event.pointerId);
  const op = { kind: "stroke", tool: app.tool, size: Number(ui.size.value), points: [toPhoto(event)] };
  app.stroke = { op, pointerId: event.pointerId };
  commitOp(op);
}

function onPointerMove(event) {
  moveBrushCursor(event);
  const stroke = app.stroke;
  if (!stroke || event.pointerId !== stroke.pointerId) return;
  // Coalesced events carry the points the browser merged into this one (pens
  // report many per frame); they are unavailable outside secure contexts.
  const events = event.getCoalescedEvents?.() ?? [];
  const first = stroke.op.points.length;
  for (const each of events.length ? events : [event]) stroke.op.points.push(toPhoto(each));
  paintStroke(maskCtx, stroke.op, first);
  maskChanged();
}

function onPointerUp(event) {
  if (app.stroke?.pointerId !== event.pointerId) return;
  app.stroke = null;
  updateControls();
}

// ---------------------------------------------------------------- the result view

/**
 * Whether a result computed for mask `version` should replace what is shown:
 * newer masks win, and at the same mask a completion wins over a preview.
 * A completion (final) always shows, since the user asked for it.
 */
function claimResultView(photo, version, final) {
  const shown = photo.shown;
  if (photo !== app.photo) return false;
  if (!final && (version < shown.version || (version === shown.version && shown.final))) return false;
  photo.shown = { version, final };
  return true;
}

async function showBlobInResult(photo, blob, version, final) {
  const image = await createImageBitmap(blob);
  if (claimResultView(photo, version, final)) ui.result.getContext("2d").drawImage(image, 0, 0, photo.width, photo.height);
  image.close();
}

function showPhotoInResult(photo, version) {
  if (claimResultView(photo, version, false)) {
    ui.result.getContext("2d").drawImage(photo.bitmap, 0, 0, photo.width, photo.height);
  }
}

/** Forgets the previous photo's results. */
function resetResult() {
  document.body.dataset.preview = "idle";
  document.body.dataset.result = "none";
  ui.previewInfo.textContent = "";
  if (app.downloadUrl) URL.revokeObjectURL(app.downloadUrl);
  app.downloadUrl = null;
  ui.download.removeAttribute("href");
  ui.download.setAttribute("aria-disabled", "true");
  ui.showSources.disabled = true;
  toggleSources(false);
}

/** Draws the source map of a completion (a grey PNG Blob) in colour on the overlay. */
async function showSources(png) {
  const bitmap = await createImageBitmap(png);
  const { width, height } = ui.sourcesOverlay;
  const context = ui.sourcesOverlay.getContext("2d");
  context.drawImage(bitmap, 0, 0, width, height);
  bitmap.close();
  const image = context.getImageData(0, 0, width, height);
  const pixels = image.data;
  for (let i = 0; i < pixels.length; i += 4) {
    const label = pixels[i];
    const rgba = label === 0 ? [0, 0, 0, 0] : label === SURROUNDINGS_LABEL ? SURROUNDINGS_SOURCE_RGBA : FACE_SOURCE_RGBA;
    pixels.set(rgba, i);
  }
  context.putImageData(image, 0, 0);
  ui.showSources.disabled = false;
}

/** Shows (or hides) the source overlay over the result. */
function toggleSources(shown) {
  ui.showSources.setAttribute("aria-pressed", shown);
  ui.sourcesOverlay.hidden = !shown;
}

function setCompare() {
  const percent = Number(ui.compare.value);
  ui.resultStage.style.setProperty("--wipe", `${percent}%`);
  ui.compareLine.hidden = percent === 0 || percent === 100;
}

/** Shows the original in the result view while any holder (key, button) holds it. */
function holdOriginal(holder, held) {
  if (held) app.holders.add(holder);
  else app.holders.delete(holder);
  const holding = app.holders.size > 0;
  ui.resultStage.classList.toggle("holding", holding);
  ui.holdOriginal.classList.toggle("active", holding);
  document.body.dataset.hold = holding ? "on" : "off";
}

// ---------------------------------------------------------------- live preview
//
// At most one preview request is in flight. A mask change meanwhile only
// marks the preview dirty; when the request returns, one more request is sent
// with the newest mask.

function requestPreview() {
  const photo = app.photo;
  if (!photo) return;
  if (photo.preview.busy) photo.preview.dirty = true;
  else sendPreview(photo);
}

async function sendPreview(photo) {
  const preview = photo.preview;
  preview.busy = true;
  preview.dirty = false;
  try {
    const mask = currentMask(photo);
    if (mask.empty) {
      showPhotoInResult(photo, mask.version);
      setPreviewState(photo, "idle", "");
      return;
    }
    setPreviewState(photo, "pending");
    const started = performance.now();
    const response = await request("/api/preview", { method: "POST", body: photoForm(photo, mask.png) });
    await showBlobInResult(photo, await response.blob(), mask.version, false);
    const server = serverMillis(response.headers.get("Server-Timing"));
    const total = Math.round(performance.now() - started);
    const timing = server === null ? `preview ${total} ms` : `preview ${total} ms (server ${Math.round(server)} ms)`;
    const sources = describeSources(sourcesOf(response));
    // When the mask changed meanwhile, the next request is about to go: still pending.
    setPreviewState(photo, preview.dirty ? "pending" : "ready", sources ? `${timing}: ${sources}` : timing);
    // A preview that works again takes its earlier error off the status line.
    if (photo === app.photo && app.statusFromPreview && !app.running) {
      setStatus(photo.summary, photo.faces.length ? "ok" : "error");
    }
  } catch (error) {
    previewFailed(photo, error);
  } finally {
    preview.busy = false;
    if (preview.dirty && photo === app.photo) requestPreview();
  }
}

function setPreviewState(photo, state, info) {
  if (photo !== app.photo) return;
  document.body.dataset.preview = state;
  if (info !== undefined) ui.previewInfo.textContent = info;
}

function previewFailed(photo, error) {
  if (photo !== app.photo) return;
  setPreviewState(photo, "error", "preview failed");
  setStatus(`Preview: ${describeError(error)}`, "error", true);
  if (error.status === 503 && error.retryAfter) {
    // The server is busy (e.g. with a completion): try again when it says so,
    // unless another preview has succeeded by then.
    setTimeout(() => {
      if (photo === app.photo && document.body.dataset.preview === "error") requestPreview();
    }, error.retryAfter * 1000);
  }
}

// ---------------------------------------------------------------- completion

/**
 * Reads the NDJSON reply of /api/complete, reporting progress lines to
 * onProgress(step, steps), and returns the final line ({done, image, ...} or {error, status}).
 */
async function readCompletion(response, onProgress) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let pending = "";
  for (;;) {
    const { value, done } = await reader.read();
    pending += decoder.decode(value, { stream: !done });
    const lines = pending.split("\n");
    pending = done ? "" : lines.pop(); // keep a partial last line for the next chunk
    for (const line of lines) {
      if (!line.trim()) continue;
      const message = JSON.parse(line);
      if ("step" in message) onProgress(message.step, message.steps);
      else return message;
    }
    if (done) throw new Error("The server closed the connection before sending the result");
  }
}

function showProgress(step, steps) {
  ui.progress.hidden = false;
  if (steps) {
    ui.progress.max = steps;
    ui.progress.value = step;
    ui.progressText.textContent = `${step} / ${steps}`;
  } else {
    ui.progress.removeAttribute("value"); // indeterminate
    ui.progressText.textContent = "";
  }
}

function hideProgress() {
  ui.progress.hidden = true;
  ui.progressText.textContent = "";
}

async function runCompletion(method) {
  const photo = app.photo;
  if (!photo || app.running) return;
  const mask = currentMask(photo);
  if (mask.empty) {
    setStatus("Paint the part to replace first (or use a preset).", "error");
    return;
  }
  const controller = new AbortController();
  app.running = controller;
  document.body.dataset.result = "running";
  updateControls();
  showProgress();
  setStatus(`Completing (${method})…`);
  const fields = { method, progress: "true", sources: "true" };
  const seed = ui.seed.value.trim();
  if (seed) fields.seed = seed;
  try {
    const body = photoForm(photo, mask.png, fields);
    const response = await request("/api/complete", { method: "POST", body, signal: controller.signal });
    const final = await readCompletion(response, showProgress);
    if (final.error) throw new ApiError(final.error, final.status);
    const png = base64ToBlob(final.image, "image/png");
    await showBlobInResult(photo, png, mask.version, true);
    if (app.running !== controller) return; // a new photo was opened meanwhile
    offerDownload(photo, png);
    if (final.sources) await showSources(base64ToBlob(final.sources, "image/png"));
    document.body.dataset.result = "ready";
    const seconds = typeof final.seconds === "number" ? ` in ${final.seconds.toFixed(1)} s` : "";
    const done = `Completed (${final.method ?? method})${seconds}`;
    ui.previewInfo.textContent = done;
    const sources = describeSources(final);
    setStatus(sources ? `${done}: ${sources}.` : `${done}.`, "ok");
  } catch (error) {
    if (app.running !== controller) return; // cancelled: the new photo owns the page
    document.body.dataset.result = "error";
    setStatus(describeError(error), "error");
  } finally {
    if (app.running === controller) {
      app.running = null;
      hideProgress();
      updateControls();
    }
  }
}

function cancelCompletion() {
  app.running?.abort();
  app.running = null;
  hideProgress();
}

/** Points #download at the server's PNG bytes, unchanged. */
function offerDownload(photo, png) {
  if (app.downloadUrl) URL.revokeObjectURL(app.downloadUrl);
  app.downloadUrl = URL.createObjectURL(png);
  const stem = photo.name.replace(/\.[^.]*$/, "") || "photo";
  ui.download.href = app.downloadUrl;
  ui.download.download = `${stem}-completed.png`;
  ui.download.setAttribute("aria-disabled", "false");
}

// ---------------------------------------------------------------- controls

function updateControls() {
  const photo = app.photo;
  const editable = photo !== null && app.stroke === null;
  ui.undo.disabled = !editable || photo.done === 0;
  ui.redo.disabled = !editable || photo.done === photo.history.length;
  ui.clear.disabled = !editable;
  for (const button of Object.values(ui.presets)) button.disabled = !editable || photo.faces.length === 0;
  updateMethodButton(ui.complete, "fast");
  updateMethodButton(ui.refine, refineMethod());
}

/** Refine's method: "tune" (fast, then the generator tuned to each face: it measured best) where
 * the server offers it, else the default search. */
function refineMethod() {
  return app.info.methods.includes("tune") ? "tune" : "default";
}

function updateMethodButton(button, method) {
  const offered = app.info.methods.includes(method);
  button.disabled = !offered || app.photo === null || app.running !== null;
  button.title = offered ? button.dataset.title : `The server does not offer the “${method}” method`;
}

/** Whether keys typed now belong to a text field (which must keep them). */
function isTyping(target) {
  if (target.isContentEditable || target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement) return true;
  return target instanceof HTMLInputElement && !["range", "checkbox", "radio", "button", "file"].includes(target.type);
}

function onKeyDown(event) {
  if (isTyping(event.target) || event.altKey) return;
  const key = event.key.toLowerCase();
  if (event.ctrlKey || event.metaKey) {
    if (key === "z" && event.shiftKey) redo();
    else if (key === "z") undo();
    else if (key === "y") redo();
    else return;
    event.preventDefault();
  } else if (key === "[" || key === "]") {
    stepSize(key === "]" ? 1 : -1);
    event.preventDefault();
  } else if (key === "b" && !event.repeat) {
    holdOriginal("key", true);
  }
}

function onKeyUp(event) {
  if (event.key.toLowerCase() === "b") holdOriginal("key", false);
}

// ---------------------------------------------------------------- opening by drop and paste

function carriesFiles(event) {
  return event.dataTransfer?.types.includes("Files");
}

function onDragOver(event) {
  if (!carriesFiles(event)) return;
  event.preventDefault();
  event.dataTransfer.dropEffect = "copy";
  document.body.classList.add("dragging");
}

function onDrop(event) {
  if (!carriesFiles(event)) return;
  event.preventDefault();
  document.body.classList.remove("dragging");
  const [file] = event.dataTransfer.files;
  if (file) openPhoto(file, file.name);
}

function onPaste(event) {
  const file = [...(event.clipboardData?.files ?? [])].find((each) => each.type.startsWith("image/"));
  if (!file) return; // text pastes stay with the focused field
  event.preventDefault();
  openPhoto(file, file.name || "pasted.png");
}

// ---------------------------------------------------------------- wiring

function wire() {
  ui.fileInput.addEventListener("change", () => {
    const [file] = ui.fileInput.files;
    if (file) openPhoto(file, file.name);
    ui.fileInput.value = ""; // so that choosing the same file again reloads it
  });
  window.addEventListener("dragover", onDragOver);
  window.addEventListener("dragleave", (event) => {
    if (!event.relatedTarget) document.body.classList.remove("dragging");
  });
  window.addEventListener("drop", onDrop);
  window.addEventListener("paste", onPaste);
  window.addEventListener("keydown", onKeyDown);
  window.addEventListener("keyup", onKeyUp);
  window.addEventListener("blur", () => holdOriginal("key", false));
  new ResizeObserver(showSize).observe(ui.editor); // the cursor's diameter follows the display scale

  ui.maskCanvas.addEventListener("pointerdown", onPointerDown);
  ui.maskCanvas.addEventListener("pointermove", onPointerMove);
  ui.maskCanvas.addEventListener("pointerup", onPointerUp);
  ui.maskCanvas.addEventListener("pointercancel", onPointerUp);
  ui.maskCanvas.addEventListener("pointerleave", () => (ui.brushCursor.hidden = true));

  ui.brush.addEventListener("click", () => setTool("brush"));
  ui.eraser.addEventListener("click", () => setTool("eraser"));
  ui.size.addEventListener("input", showSize);
  ui.undo.addEventListener("click", undo);
  ui.redo.addEventListener("click", redo);
  ui.clear.addEventListener("click", () => commitOp({ kind: "replace", ops: [] }));
  for (const [name, button] of Object.entries(ui.presets)) button.addEventListener("click", () => applyPreset(name));

  ui.complete.addEventListener("click", () => runCompletion("fast"));
  ui.refine.addEventListener("click", () => runCompletion(refineMethod()));

  ui.compare.addEventListener("input", setCompare);
  ui.showSources.addEventListener("click", () => toggleSources(ui.showSources.getAttribute("aria-pressed") !== "true"));
  const hold = ui.holdOriginal;
  hold.addEventListener("pointerdown", () => holdOriginal("button", true));
  for (const type of ["pointerup", "pointerleave", "pointercancel"]) {
    hold.addEventListener(type, () => holdOriginal("button", false));
  }
  hold.addEventListener("keydown", (event) => {
    if ((event.key === " " || event.key === "Enter") && !event.repeat) holdOriginal("button", true);
  });
  hold.addEventListener("keyup", () => holdOriginal("button", false));
}

wire();
setTool("brush");
setCompare();
loadInfo();
