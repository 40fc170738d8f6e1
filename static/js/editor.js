// The correction editor: wires the stage, the hint store, the live preview, the panels
// and the forms together. Modules under ./editor/ hold the parts.

import { loadImage, PreviewClient, suggestColours } from "./editor/api.js";
import { setupEvidence, setupSubmission } from "./editor/forms.js";
import { setupGlobal } from "./editor/global.js";
import { HintStore } from "./editor/hints.js";
import { setupReference } from "./editor/reference.js";
import { Stage } from "./editor/view.js";

const config = JSON.parse(document.getElementById("editor-config").textContent);
const $ = (id) => document.getElementById(id);
const root = $("editor");
const statusLine = $("editor-status");
const colourInput = $("hint-color");
const colourCode = $("hint-color-value");
const sizeInput = $("point-size");
const widthInput = $("brush-width");

const store = new HintStore({
  width: config.photo.width,
  height: config.photo.height,
  limits: config.limits,
  initial: config.hints,
});
const stage = new Stage({
  wrap: $("canvas-wrap"),
  imageCanvas: $("editor-canvas"),
  overlayCanvas: $("editor-overlay"),
  width: config.photo.width,
  height: config.photo.height,
  // The bars above and below the canvas stay on screen with it.
  reserve: () =>
    ["stage-bar", "stage-foot"].reduce((sum, name) => sum + (root.querySelector(`.${name}`)?.offsetHeight || 0), 0) + 32,
});
const overlay = stage.overlay;

let tool = "point";
let selectedId = null;
const citeSelection = new Set(); // hint ids ticked for "Cite for selected hints"
let readEvidence = null; // set once the evidence rows exist (below)
let spaceHeld = false;
let drag = null; // {kind: "pan"|"move"|"brush"|"erase", ...}
let hover = null; // pointer position in image px (brush and eraser outline)
let cursor = null; // keyboard crosshair in image px
let previewCount = 0;
let togglePanels = () => {};

function announce(message, isError = false) {
  statusLine.textContent = message;
  statusLine.classList.toggle("error", isError);
}

// -- images

function showMessage(text) {
  const message = $("canvas-message");
  message.textContent = text;
  message.hidden = !text;
}

async function loadImages() {
  showMessage("Loading the photograph…");
  try {
    stage.setImages({ original: await loadImage(config.original_url) });
  } catch {
    // A format the browser cannot show (TIFF, HEIC): the server's greyscale rendering instead.
    const grey = new PreviewClient({ url: config.api.preview, settings: { ...config.preview, saturation: 0 } });
    grey.onImage = (image) => stage.setImages({ original: image });
    await grey.request({ points: [], strokes: [] });
  }
  if (config.base_image_url) {
    try {
      stage.setImages({ colour: await loadImage(config.base_image_url) });
    } catch {
      announce("The colour version could not be loaded; your first hint makes a new preview.", true);
    }
  } else {
    preview.schedule(store.toJSON()); // an earlier correction still rendering: preview its hints
  }
  showMessage("");
  root.dataset.ready = "true";
}

// -- live preview

const preview = new PreviewClient({
  url: config.api.preview,
  settings: config.preview,
  delay: 150,
  onStart: () => {
    root.dataset.previewBusy = "true";
    announce("Updating the preview…");
  },
  onImage: (image, { ms, model, hints }) => {
    previewCount += 1;
    root.dataset.previewBusy = "false";
    root.dataset.previews = String(previewCount);
    // What the picture shows, for people (the status line) and for tests.
    root.dataset.previewPoints = String(hints.points.length);
    root.dataset.previewStrokes = String(hints.strokes.length);
    stage.setImages({ colour: image });
    $("colour-label").textContent =
      `AI-colorized · model ${model.slug} v${model.version} · colours are an estimate (preview, ${image.naturalWidth}×${image.naturalHeight} px)`;
    announce(`Preview updated in ${ms} ms.`);
  },
  onError: (error) => {
    root.dataset.previewBusy = "false";
    if (error.status === 429 && error.retryAfter) {
      // Throttled (CHROMA_PREVIEW_RATE): try again by itself when the server says it may.
      announce(`Previews are paused for ${error.retryAfter} s (too many in a short time); your hints are kept.`, true);
      setTimeout(() => preview.schedule(store.toJSON()), error.retryAfter * 1000);
      return;
    }
    announce(`The preview failed: ${error.message}`, true);
  },
});

// -- suggestions

let suggestController = null;
async function suggestAt(point) {
  suggestController?.abort();
  suggestController = new AbortController();
  const list = $("suggestions");
  $("suggest-help").textContent = `Colours the model finds likely at (${point.x}, ${point.y})…`;
  try {
    const colours = await suggestColours({
      url: config.api.suggest,
      x: point.x,
      y: point.y,
      hints: store.toJSON(),
      settings: config.preview,
      signal: suggestController.signal,
    });
    list.replaceChildren(
      ...colours.map((colour, i) => {
        const li = document.createElement("li");
        const button = document.createElement("button");
        button.type = "button";
        button.className = "swatch";
        button.style.setProperty("--swatch", colour);
        button.setAttribute("aria-label", `Use ${colour}${i === 0 ? " (most likely)" : ""}`);
        button.title = colour;
        button.dataset.colour = colour;
        button.addEventListener("click", () => useColour(colour));
        li.append(button);
        return li;
      }),
    );
    $("suggest-help").textContent = `Likely at (${point.x}, ${point.y}), most likely first. Choose one to use it.`;
  } catch (error) {
    if (error.name !== "AbortError") $("suggest-help").textContent = `No suggestions: ${error.message}`;
  }
}

// -- colour and sizes

function setColourInput(colour) {
  colourInput.value = colour;
  colourCode.value = colour;
  colourCode.removeAttribute("aria-invalid");
  $("hint-color-error").hidden = true;
}

function useColour(colour) {
  setColourInput(colour);
  // Only the selected hint (outlined on the canvas, marked in the hint list) changes colour; switching
  // tools clears the selection (setTool).
  const selected = store.find(selectedId);
  if (selected && selected.color !== colour) {
    store.updatePoint(selectedId, { color: colour });
    announce(`Hint colour set to ${colour}.`);
  } else {
    announce(`Colour ${colour} chosen for new hints.`);
  }
}

colourInput.addEventListener("input", () => (colourCode.value = colourInput.value));
// The colour typed as a code: exact colours from a source, and a colour chosen without a pointer.
colourCode.addEventListener("change", () => {
  const typed = colourCode.value.trim().toLowerCase().replace(/^#?/, "#");
  const colour = /^#[0-9a-f]{3}$/.test(typed) ? `#${[...typed.slice(1)].map((c) => c + c).join("")}` : typed;
  if (!/^#[0-9a-f]{6}$/.test(colour)) {
    // Next to the field (the status line below the photograph is busy with the previews).
    colourCode.setAttribute("aria-invalid", "true");
    $("hint-color-error").textContent = `“${colourCode.value}” is not a colour code: type # and six hex digits, like #8a5a3c.`;
    $("hint-color-error").hidden = false;
    return;
  }
  useColour(colour);
});
colourInput.addEventListener("change", () => useColour(colourInput.value));
sizeInput.addEventListener("input", () => {
  $("point-size-value").textContent = sizeInput.value;
});
sizeInput.addEventListener("change", () => {
  const selected = store.find(selectedId);
  if (selected && "size" in selected) store.updatePoint(selectedId, { size: Number(sizeInput.value) });
});
widthInput.addEventListener("input", () => {
  $("brush-width-value").textContent = widthInput.value;
  stage.renderOverlay();
});
widthInput.addEventListener("change", () => {
  const selected = store.find(selectedId);
  if (selected && "width" in selected) store.updatePoint(selectedId, { width: Number(widthInput.value) });
});

// -- selection

function select(id, { suggest = true } = {}) {
  selectedId = id;
  const item = store.find(id);
  if (item) {
    setColourInput(item.color);
    if ("size" in item) {
      sizeInput.value = item.size;
      $("point-size-value").textContent = item.size;
    }
    if (suggest && "size" in item) suggestAt(item);
  }
  renderHintList();
  stage.renderOverlay();
}

function deleteSelected() {
  if (!store.find(selectedId)) return;
  store.remove(selectedId);
  selectedId = null;
  announce("Hint deleted (Z to undo).");
}

// -- tools

const TOOL_NAMES = { point: "Hint", brush: "Brush", eraser: "Eraser", eyedropper: "Eyedropper", pan: "Pan" };

function setTool(name) {
  // A new tool starts a new action: the hint that was selected stops being the target of the
  // colour and size controls, so picking a brush colour never recolours it behind the volunteer's back.
  if (name !== tool && selectedId !== null) {
    select(null);
    announce(`${TOOL_NAMES[name]} tool; no hint selected.`);
  }
  tool = name;
  // One tab stop for the group (the checked tool); the arrow keys move within it.
  for (const button of document.querySelectorAll("button[data-tool]")) {
    button.setAttribute("aria-checked", String(button.dataset.tool === name));
    button.tabIndex = button.dataset.tool === name ? 0 : -1;
  }
  root.dataset.tool = name;
  overlay.dataset.tool = name;
  stage.renderOverlay();
}
for (const button of document.querySelectorAll("button[data-tool]")) {
  button.addEventListener("click", () => setTool(button.dataset.tool));
}
// Arrow keys move between the tools, as in any radio group.
$("editor").querySelector(".tool-group").addEventListener("keydown", (event) => {
  const buttons = [...document.querySelectorAll("button[data-tool]")];
  const i = buttons.indexOf(document.activeElement);
  const delta = { ArrowDown: 1, ArrowRight: 1, ArrowUp: -1, ArrowLeft: -1 }[event.key];
  if (i < 0 || !delta) return;
  event.preventDefault();
  const next = buttons[(i + delta + buttons.length) % buttons.length];
  next.focus();
  setTool(next.dataset.tool);
});

// -- panels: hide the tool and hint panels so the photograph gets the whole width; the choice is
// remembered on this device.

{
  const bar = root.querySelector(".stage-bar");
  const toggle = document.createElement("button");
  toggle.type = "button";
  toggle.className = "button button-small button-quiet panels-toggle";
  toggle.id = "panels-toggle";
  toggle.setAttribute("aria-controls", "editor-tools editor-side");
  toggle.setAttribute("aria-keyshortcuts", "P");
  const show = (hidden, { scroll = false } = {}) => {
    root.classList.toggle("panels-hidden", hidden);
    toggle.setAttribute("aria-pressed", String(hidden));
    toggle.innerHTML = hidden ? "Show panels <kbd>P</kbd>" : "Hide panels <kbd>P</kbd>";
    try {
      localStorage.setItem("chroma-editor-panels", hidden ? "hidden" : "shown");
    } catch {
      // Storage refused (private mode): the choice lasts for this page only.
    }
    // Focus never vanishes with a hidden panel.
    if (hidden && document.activeElement?.closest?.(".editor-tools, .editor-side")) toggle.focus();
    // The photograph's bar at the top of the window, so the canvas fills what is left of it.
    if (hidden && scroll) bar.scrollIntoView({ block: "start" });
  };
  togglePanels = (options) => {
    show(!root.classList.contains("panels-hidden"), options);
    announce(root.classList.contains("panels-hidden") ? "Panels hidden; the photograph uses the window." : "Panels shown.");
  };
  toggle.addEventListener("click", () => togglePanels({ scroll: true }));
  bar.append(toggle);
  let remembered = null;
  try {
    remembered = localStorage.getItem("chroma-editor-panels");
  } catch {
    remembered = null;
  }
  show(remembered === "hidden");
}

// -- drawing the overlay

stage.drawOverlay = (ctx) => {
  for (const stroke of store.strokes) {
    const pts = stroke.points.map(([x, y]) => stage.toScreen(x + 0.5, y + 0.5));
    const w = Math.max(2, stroke.width * stage.scale);
    ctx.lineCap = ctx.lineJoin = "round";
    const path = () => {
      ctx.beginPath();
      ctx.moveTo(...pts[0]);
      for (const p of pts.slice(1)) ctx.lineTo(...p);
      if (pts.length === 1) ctx.lineTo(pts[0][0] + 0.01, pts[0][1]);
    };
    path();
    ctx.strokeStyle = stroke.id === selectedId ? "#ffffff" : "rgba(0,0,0,.6)";
    ctx.lineWidth = w + 3;
    ctx.stroke();
    path();
    ctx.strokeStyle = stroke.color;
    ctx.lineWidth = w;
    ctx.stroke();
  }
  for (const point of store.points) {
    const [cx, cy] = stage.toScreen(point.x + 0.5, point.y + 0.5);
    const half = Math.max(5, (point.size * stage.scale) / 2);
    ctx.fillStyle = point.color;
    ctx.fillRect(cx - half, cy - half, 2 * half, 2 * half);
    ctx.lineWidth = 2;
    ctx.strokeStyle = "#000";
    ctx.strokeRect(cx - half - 1, cy - half - 1, 2 * half + 2, 2 * half + 2);
    ctx.strokeStyle = "#fff";
    ctx.strokeRect(cx - half - 3, cy - half - 3, 2 * half + 6, 2 * half + 6);
    if (point.id === selectedId) {
      ctx.setLineDash([4, 3]);
      ctx.strokeStyle = "#000";
      ctx.strokeRect(cx - half - 7, cy - half - 7, 2 * half + 14, 2 * half + 14);
      ctx.setLineDash([]);
    }
  }
  if (hover && (tool === "brush" || tool === "eraser")) {
    const [hx, hy] = stage.toScreen(hover[0], hover[1]);
    ctx.beginPath();
    ctx.arc(hx, hy, Math.max(2, (Number(widthInput.value) * stage.scale) / 2), 0, 2 * Math.PI);
    ctx.strokeStyle = tool === "eraser" ? "#fff" : "#000";
    ctx.lineWidth = 1.5;
    ctx.setLineDash(tool === "eraser" ? [3, 3] : []);
    ctx.stroke();
    ctx.setLineDash([]);
  }
  if (cursor && document.activeElement === overlay && selectedId === null) {
    const [x, y] = stage.toScreen(cursor[0] + 0.5, cursor[1] + 0.5);
    ctx.strokeStyle = "#fff";
    ctx.lineWidth = 3;
    ctx.beginPath();
    ctx.moveTo(x - 12, y);
    ctx.lineTo(x + 12, y);
    ctx.moveTo(x, y - 12);
    ctx.lineTo(x, y + 12);
    ctx.stroke();
    ctx.strokeStyle = "#000";
    ctx.lineWidth = 1;
    ctx.stroke();
  }
};

stage.onViewChange = () => {
  $("zoom-value").textContent = `${stage.zoomPercent}%`;
};

// -- the hint list

function renderHintList() {
  const list = $("hint-list");
  const focusedKey = document.activeElement?.closest?.("#hint-list") ? document.activeElement.dataset.key : null;
  const items = [
    ...store.points.map((p, i) => ({ item: p, name: `Hint ${i + 1}`, where: `at (${p.x}, ${p.y}), ${p.size} px` })),
    ...store.strokes.map((s, i) => ({
      item: s,
      name: `Stroke ${i + 1}`,
      where: `${s.points.length} point${s.points.length === 1 ? "" : "s"}, ${s.width} px wide`,
    })),
  ];
  list.replaceChildren(
    ...items.map(({ item, name, where }) => {
      const li = document.createElement("li");
      li.className = "hint-row";
      li.dataset.id = item.id;
      li.setAttribute("aria-current", String(item.id === selectedId));
      const colour = document.createElement("input");
      colour.type = "color";
      colour.value = item.color;
      colour.dataset.key = `colour-${item.id}`;
      colour.setAttribute("aria-label", `${name} colour`);
      colour.addEventListener("change", () => {
        store.updatePoint(item.id, { color: colour.value });
        if (item.id === selectedId) setColourInput(colour.value);
      });
      const label = document.createElement("button");
      label.type = "button";
      label.className = "link-button hint-name";
      label.dataset.key = `select-${item.id}`;
      label.textContent = `${name} ${where}`;
      label.setAttribute("aria-pressed", String(item.id === selectedId));
      label.addEventListener("click", () => select(item.id));
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "button button-small button-quiet";
      remove.dataset.key = `remove-${item.id}`;
      remove.textContent = "Delete";
      remove.setAttribute("aria-label", `Delete ${name}`);
      remove.addEventListener("click", () => {
        store.remove(item.id);
        if (selectedId === item.id) selectedId = null;
        announce(`${name} deleted (Z to undo).`);
        const next = $("hint-list").querySelector("button.hint-name");
        if (next) next.focus();
        else overlay.focus();
      });
      const cite = document.createElement("input");
      cite.type = "checkbox";
      cite.className = "cite-check";
      cite.dataset.key = `cite-${item.id}`;
      cite.checked = citeSelection.has(item.id);
      cite.setAttribute("aria-label", `Select ${name} to cite a source for it`);
      cite.addEventListener("change", () => {
        if (cite.checked) citeSelection.add(item.id);
        else citeSelection.delete(item.id);
      });
      li.append(cite, colour, label, remove);
      return li;
    }),
  );
  $("hint-count").textContent = `(${store.points.length} hint${store.points.length === 1 ? "" : "s"}, ${store.strokes.length} stroke${store.strokes.length === 1 ? "" : "s"})`;
  $("hint-list-empty").hidden = items.length > 0;
  if (focusedKey) list.querySelector(`[data-key="${focusedKey}"]`)?.focus();
  for (const id of [...citeSelection]) if (!citable(id)) citeSelection.delete(id);
  updateGlobalCite();
  readEvidence?.refresh();
}

// The overall colour is cited like a hint, under this id (hint ids are numbers).
const GLOBAL_CITE = "global";

// id -> {ref: "points/N" | "strokes/N" | "global", name}, in the order the hints are sent.
function hintRefs() {
  return new Map([
    ...store.points.map((p, i) => [p.id, { ref: `points/${i}`, name: `Hint ${i + 1}` }]),
    ...store.strokes.map((s, i) => [s.id, { ref: `strokes/${i}`, name: `Stroke ${i + 1}` }]),
    ...(store.global ? [[GLOBAL_CITE, { ref: "global", name: "the overall colour" }]] : []),
  ]);
}

function citable(id) {
  return id === GLOBAL_CITE ? Boolean(store.global) : Boolean(store.find(id));
}

// The overall colour's tick box: usable while there is an overall colour.
function updateGlobalCite() {
  const box = $("global-cite");
  box.disabled = !store.global;
  if (!store.global) {
    box.checked = false;
    citeSelection.delete(GLOBAL_CITE);
  }
}
$("global-cite").addEventListener("change", (event) => {
  if (event.target.checked) citeSelection.add(GLOBAL_CITE);
  else citeSelection.delete(GLOBAL_CITE);
});

function updateButtons() {
  $("undo").disabled = !store.canUndo;
  $("redo").disabled = !store.canRedo;
  $("clear-all").disabled = !store.hasLocal;
}

store.onChange((kind) => {
  if (kind === "noop") return;
  if (!store.find(selectedId)) selectedId = null;
  stage.renderOverlay();
  if (kind !== "live") {
    renderHintList();
    updateButtons();
  }
  preview.schedule(store.toJSON());
});

// -- pointer input on the stage

overlay.addEventListener("pointerdown", (event) => {
  if (event.button !== 0 && event.button !== 1) return;
  overlay.focus({ preventScroll: true });
  overlay.setPointerCapture(event.pointerId);
  const [x, y] = stage.eventToImage(event);
  cursor = null;
  if (tool === "pan" || spaceHeld || event.button === 1) {
    drag = { kind: "pan", lastX: event.clientX, lastY: event.clientY };
    return;
  }
  const inside = x >= 0 && y >= 0 && x < config.photo.width && y < config.photo.height;
  try {
    if (tool === "point") {
      const hit = store.pointAt(x, y, 6 / stage.scale);
      if (hit) {
        select(hit.id, { suggest: false });
        store.begin();
        drag = { kind: "move", id: hit.id, dx: hit.x - x, dy: hit.y - y, moved: false };
      } else if (inside) {
        const point = store.addPoint(x - 0.5, y - 0.5, colourInput.value, Number(sizeInput.value));
        select(point.id);
        announce(`Hint placed at (${point.x}, ${point.y}).`);
      }
    } else if (tool === "brush" && inside) {
      store.begin();
      drag = { kind: "brush", stroke: store.startStroke(x - 0.5, y - 0.5, colourInput.value, Number(widthInput.value)) };
    } else if (tool === "eraser") {
      store.begin();
      drag = { kind: "erase" };
      store.erase(x, y, Number(widthInput.value) / 2);
    } else if (tool === "eyedropper" && inside) {
      const colour = stage.sampleColour(x, y);
      if (colour) useColour(colour);
    }
  } catch (error) {
    store.commit();
    drag = null;
    announce(error.name === "SecurityError" ? "This image cannot be sampled; place a hint first." : error.message, true);
  }
});

overlay.addEventListener("pointermove", (event) => {
  const [x, y] = stage.eventToImage(event);
  hover = [x, y];
  if (!drag) {
    if (tool === "brush" || tool === "eraser") stage.renderOverlay();
    return;
  }
  if (drag.kind === "pan") {
    stage.pan(event.clientX - drag.lastX, event.clientY - drag.lastY);
    drag.lastX = event.clientX;
    drag.lastY = event.clientY;
  } else if (drag.kind === "move") {
    store.movePoint(drag.id, x + drag.dx, y + drag.dy);
  } else if (drag.kind === "brush") {
    store.extendStroke(drag.stroke, x - 0.5, y - 0.5);
  } else if (drag.kind === "erase") {
    store.erase(x, y, Number(widthInput.value) / 2);
    stage.renderOverlay();
  }
});

function endDrag() {
  if (!drag) return;
  const ended = drag;
  drag = null;
  if (ended.kind === "pan") return;
  store.commit();
  if (ended.kind === "move") {
    const point = store.find(ended.id);
    if (point) suggestAt(point);
  }
}
overlay.addEventListener("pointerup", endDrag);
overlay.addEventListener("pointercancel", endDrag);
overlay.addEventListener("pointerleave", () => {
  hover = null;
  stage.renderOverlay();
});
overlay.addEventListener(
  "wheel",
  (event) => {
    event.preventDefault();
    const rect = overlay.getBoundingClientRect();
    stage.zoom(Math.exp(-event.deltaY * 0.0015), event.clientX - rect.left, event.clientY - rect.top);
  },
  { passive: false },
);
overlay.addEventListener("focus", () => stage.renderOverlay());
overlay.addEventListener("blur", () => stage.renderOverlay());

// -- keyboard

function isTyping(target) {
  return target.closest?.("input, textarea, select, [contenteditable]") && target.type !== "range";
}

function keyOnStage(event) {
  const step = (event.shiftKey ? 10 : 1) * Math.max(1, Math.round(4 / stage.scale));
  const move = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] }[event.key];
  const selected = store.find(selectedId);
  if (move) {
    event.preventDefault();
    if (selected && "size" in selected) {
      store.movePoint(selectedId, selected.x + move[0], selected.y + move[1]);
      stage.reveal(selected.x, selected.y);
      announce(`Hint at (${selected.x}, ${selected.y}).`);
    } else {
      cursor = cursor || [Math.floor(config.photo.width / 2), Math.floor(config.photo.height / 2)];
      cursor = store.clamp(cursor[0] + move[0], cursor[1] + move[1]);
      stage.reveal(cursor[0], cursor[1]);
      stage.renderOverlay();
      announce(`Crosshair at (${cursor[0]}, ${cursor[1]}). Enter places a hint.`);
    }
    return true;
  }
  if (event.key === "Enter") {
    event.preventDefault();
    if (selected) {
      select(null);
      announce("Hint deselected; the arrow keys move the crosshair.");
      return true;
    }
    cursor = cursor || [Math.floor(config.photo.width / 2), Math.floor(config.photo.height / 2)];
    try {
      const point = store.addPoint(cursor[0], cursor[1], colourInput.value, Number(sizeInput.value));
      select(point.id);
      announce(`Hint placed at (${point.x}, ${point.y}). Arrows move it, Delete removes it, Enter deselects it.`);
    } catch (error) {
      announce(error.message, true);
    }
    return true;
  }
  return false;
}

document.addEventListener("keydown", (event) => {
  if (event.target === overlay && !event.ctrlKey && !event.metaKey && keyOnStage(event)) return;
  if (isTyping(event.target) || event.altKey) return;
  const key = event.key.toLowerCase();
  const mod = event.ctrlKey || event.metaKey;
  if (mod && key === "z") {
    event.preventDefault();
    event.shiftKey ? redo() : undo();
  } else if (mod && key === "y") {
    event.preventDefault();
    redo();
  } else if (mod) {
    return;
  } else if (key === "z") {
    event.shiftKey ? redo() : undo();
  } else if (key === " " && !event.repeat && event.target === overlay) {
    event.preventDefault();
    spaceHeld = true;
    overlay.dataset.panning = "true";
  } else if ({ h: "point", b: "brush", e: "eraser", i: "eyedropper" }[key]) {
    setTool({ h: "point", b: "brush", e: "eraser", i: "eyedropper" }[key]);
    announce(`${{ h: "Hint", b: "Brush", e: "Eraser", i: "Eyedropper" }[key]} tool.`);
  } else if (key === "o") {
    toggleOriginal();
  } else if (key === "p") {
    togglePanels({ scroll: true });
  } else if (key === "+" || key === "=") {
    stage.zoom(1.25);
  } else if (key === "-" || key === "_") {
    stage.zoom(0.8);
  } else if (key === "0") {
    stage.fit();
  } else if ((key === "delete" || key === "backspace") && selectedId !== null) {
    event.preventDefault();
    deleteSelected();
  } else if (key === "escape" && selectedId !== null) {
    select(null);
  }
});
document.addEventListener("keyup", (event) => {
  if (event.key === " ") {
    spaceHeld = false;
    delete overlay.dataset.panning;
  }
});

function undo() {
  if (store.undo()) announce("Undone.");
}
function redo() {
  if (store.redo()) announce("Redone.");
}
$("undo").addEventListener("click", undo);
$("redo").addEventListener("click", redo);
$("clear-all").addEventListener("click", () => {
  store.clear();
  selectedId = null;
  announce("All hints cleared (Z to undo).");
});

// -- view controls

$("zoom-in").addEventListener("click", () => stage.zoom(1.25));
$("zoom-out").addEventListener("click", () => stage.zoom(0.8));
$("zoom-fit").addEventListener("click", () => stage.fit());

function toggleOriginal() {
  stage.showOriginal = !stage.showOriginal;
  $("toggle-original").setAttribute("aria-pressed", String(stage.showOriginal));
  announce(stage.showOriginal ? "Showing the original (O to show the colour)." : "Showing the colour.");
  stage.render();
}
$("toggle-original").addEventListener("click", toggleOriginal);

const compare = $("compare-range");
compare.addEventListener("input", () => {
  const value = Number(compare.value);
  stage.split = value / 100;
  compare.setAttribute(
    "aria-valuetext",
    value === 100 ? "colour everywhere" : value === 0 ? "original everywhere" : `colour on the left ${value}%`,
  );
  stage.render();
});

// -- panels and forms

const reference = setupReference({
  input: $("reference-file"),
  canvas: $("reference-canvas"),
  clearButton: $("reference-clear"),
  regionButton: $("reference-region"),
  wholeButton: $("reference-whole"),
  onPick: (colour) => useColour(colour),
  onOpen: () => ($("global-use-reference").disabled = false),
  announce,
});

setupGlobal({
  store,
  reference,
  elements: {
    useReference: $("global-use-reference"),
    swatchList: $("global-palette"),
    addColour: $("global-add-colour"),
    addSuggestions: $("global-add-suggestions"),
    tintColour: $("global-tint-colour"),
    tintStrength: $("global-tint-strength"),
    tintStrengthValue: $("global-tint-strength-value"),
    useTint: $("global-use-tint"),
    saturation: $("global-saturation"),
    saturationValue: $("global-saturation-value"),
    clearButton: $("global-clear"),
    summary: $("global-summary"),
  },
  currentColour: () => colourInput.value,
  suggestions: () => [...document.querySelectorAll("#suggestions [data-colour]")].map((b) => b.dataset.colour),
  announce,
});

readEvidence = setupEvidence({
  list: $("evidence-rows"),
  template: $("evidence-row-template"),
  addButton: $("evidence-add"),
  max: config.limits.max_evidence,
  selectedHints: () => [...citeSelection].filter(citable),
  hintRefs,
});

let submitted = false;
setupSubmission({
  form: $("correction-form"),
  config,
  hints: store,
  readEvidence,
  onSubmitted: () => {
    submitted = true;
    window.location.assign(`${config.photo_url}#corrections`);
  },
});
window.addEventListener("beforeunload", (event) => {
  if (!submitted && store.canUndo) event.preventDefault();
});

setTool("point");
renderHintList();
updateButtons();
loadImages();
