// The photo page: the before/after slider, zoom and pan, and live progress of drafts (polling the API).
const range = document.getElementById("compare-range");
const compare = document.querySelector(".compare");
const colourLayer = document.getElementById("colour-layer");
const colourLabel = document.getElementById("colour-label");

function setPosition(value) {
  compare.style.setProperty("--position", `${value}%`);
  range.setAttribute("aria-valuetext", `${value}% colour shown`);
}
if (range) {
  range.addEventListener("input", () => setPosition(range.value));
  setPosition(range.value);
}

// Zoom: buttons, + - 0 keys, the wheel and two-finger pinch; drag (or arrow keys) to pan when zoomed.
// The transform is on the element holding both layers, so the slider keeps comparing the same spot.
const viewport = document.getElementById("compare-viewport");
const zoomLevel = document.getElementById("zoom-level");
const view = { zoom: 1, x: 0, y: 0 };
const MAX_ZOOM = 8;

function clampPan() {
  const w = viewport.clientWidth, h = viewport.clientHeight;
  view.x = Math.min(0, Math.max(w - w * view.zoom, view.x));
  view.y = Math.min(0, Math.max(h - h * view.zoom, view.y));
}
function applyView() {
  clampPan();
  compare.style.setProperty("--zoom", view.zoom);
  compare.style.setProperty("--pan-x", `${view.x}px`);
  compare.style.setProperty("--pan-y", `${view.y}px`);
  viewport.classList.toggle("is-zoomed", view.zoom > 1);
  viewport.dataset.zoom = view.zoom.toFixed(2);
  if (zoomLevel) zoomLevel.textContent = `${Math.round(view.zoom * 100)}%`;
}
function zoomAt(factor, cx, cy) {
  // Keep the point under (cx, cy) (viewport pixels) where it is.
  const next = Math.min(MAX_ZOOM, Math.max(1, view.zoom * factor));
  const k = next / view.zoom;
  view.x = cx - (cx - view.x) * k;
  view.y = cy - (cy - view.y) * k;
  view.zoom = next;
  applyView();
}
function zoomCentre(factor) { zoomAt(factor, viewport.clientWidth / 2, viewport.clientHeight / 2); }

if (viewport) {
  document.getElementById("zoom-in")?.addEventListener("click", () => zoomCentre(1.5));
  document.getElementById("zoom-out")?.addEventListener("click", () => zoomCentre(1 / 1.5));
  document.getElementById("zoom-reset")?.addEventListener("click", () => { view.zoom = 1; applyView(); });
  viewport.addEventListener("wheel", (event) => {
    event.preventDefault();
    const box = viewport.getBoundingClientRect();
    zoomAt(event.deltaY < 0 ? 1.2 : 1 / 1.2, event.clientX - box.left, event.clientY - box.top);
  }, { passive: false });
  viewport.addEventListener("keydown", (event) => {
    const step = 40;
    const actions = {
      "+": () => zoomCentre(1.5), "=": () => zoomCentre(1.5), "-": () => zoomCentre(1 / 1.5),
      "0": () => { view.zoom = 1; applyView(); },
      ArrowLeft: () => { view.x += step; applyView(); }, ArrowRight: () => { view.x -= step; applyView(); },
      ArrowUp: () => { view.y += step; applyView(); }, ArrowDown: () => { view.y -= step; applyView(); },
    };
    if (actions[event.key] && (view.zoom > 1 || !event.key.startsWith("Arrow"))) {
      event.preventDefault();
      actions[event.key]();
    }
  });
  const pointers = new Map();
  let pinch = null;
  viewport.addEventListener("pointerdown", (event) => {
    pointers.set(event.pointerId, { x: event.clientX, y: event.clientY });
    viewport.setPointerCapture(event.pointerId);
  });
  viewport.addEventListener("pointermove", (event) => {
    const previous = pointers.get(event.pointerId);
    if (!previous) return;
    pointers.set(event.pointerId, { x: event.clientX, y: event.clientY });
    if (pointers.size === 2) {
      const [a, b] = [...pointers.values()];
      const distance = Math.hypot(a.x - b.x, a.y - b.y);
      const box = viewport.getBoundingClientRect();
      if (pinch) zoomAt(distance / pinch, (a.x + b.x) / 2 - box.left, (a.y + b.y) / 2 - box.top);
      pinch = distance;
    } else if (view.zoom > 1) {
      view.x += event.clientX - previous.x;
      view.y += event.clientY - previous.y;
      applyView();
    }
  });
  const release = (event) => { pointers.delete(event.pointerId); if (pointers.size < 2) pinch = null; };
  viewport.addEventListener("pointerup", release);
  viewport.addEventListener("pointercancel", release);
  applyView();
}

function showDraft(draft) {
  // The first finished draft appears in the viewer without a reload.
  if (!colourLayer.hidden) return;
  colourLayer.src = draft.image_url;
  colourLayer.hidden = false;
  colourLabel.textContent = draft.label;
  colourLabel.hidden = false;
  document.querySelector(".compare-control").hidden = false;
  document.querySelector(".zoom-controls")?.removeAttribute("hidden");
}

// What the worker is doing, in words: queued, rendering (with percent), encoding the files.
function stageText(draft) {
  if (draft.status === "queued") return draft.stage && draft.stage !== "Waiting for a worker" ? `Queued: ${draft.stage.toLowerCase()}` : "Queued: waiting for a worker";
  if (draft.status !== "running") return draft.stage;
  if (draft.progress >= 85) return `Encoding PNG and JPEG · ${draft.progress}%`;
  if (draft.progress >= 50) return `Rendering · ${draft.progress}%`;
  return `Preparing: ${(draft.stage || "starting").toLowerCase()} · ${draft.progress}%`;
}

// A finished draft: swap in the server's own card (thumbnail, label, PNG / JPEG / "Correct the
// colours" links) and version history, read from a fresh copy of this page.
async function swapFinished(card) {
  const response = await fetch(window.location.href, { credentials: "same-origin", cache: "no-store", headers: { Accept: "text/html" } });
  if (!response.ok) throw new Error(String(response.status));
  const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
  const freshCard = fresh.querySelector(`.draft-card[data-draft="${card.dataset.draft}"]`);
  if (freshCard && freshCard.dataset.status === "done") card.replaceWith(document.importNode(freshCard, true));
  const timeline = document.getElementById("timeline");
  const freshTimeline = fresh.getElementById("timeline");
  if (timeline && freshTimeline) timeline.replaceWith(document.importNode(freshTimeline, true));
}

function render(card, draft) {
  const bar = card.querySelector("[role=progressbar]");
  if (bar) {
    bar.setAttribute("aria-valuenow", draft.progress);
    bar.setAttribute("aria-valuetext", stageText(draft));
    bar.querySelector(".progress-bar").style.width = `${draft.progress}%`;
  }
  const stage = card.querySelector(".draft-stage");
  if (stage) stage.textContent = stageText(draft);
  if (draft.status === "done") {
    if (stage) stage.textContent = "Done";
    showDraft(draft);
    card.dataset.status = "finishing";
    swapFinished(card).catch(() => {
      // Without the fresh card, at least show the picture and its label.
      const img = document.createElement("img");
      img.src = draft.thumbnail_url;
      img.alt = `Draft ${card.dataset.draft} (AI-colorized)`;
      const link = document.createElement("a");
      link.href = draft.image_url;
      link.append(img);
      const label = document.createElement("p");
      label.className = "ai-label ai-label-small";
      label.textContent = draft.label;
      card.querySelector(".draft-placeholder")?.replaceWith(link);
      link.after(label);
      bar?.remove();
      card.dataset.status = "done";
    });
    return;
  }
  card.dataset.status = draft.status;
  if (draft.status === "failed") {
    bar?.remove();
    if (stage) { stage.className = "error"; stage.textContent = `${draft.error} Reload the page to try again.`; }
  }
}

for (const card of document.querySelectorAll(".draft-card[data-status=queued], .draft-card[data-status=running]")) {
  const stage = card.querySelector(".draft-stage");
  const bar = card.querySelector("[role=progressbar]");
  const draft = { status: card.dataset.status, progress: Number(bar?.getAttribute("aria-valuenow") || 0), stage: stage?.textContent.trim() };
  if (stage) stage.textContent = stageText(draft);
}

async function poll() {
  const pending = [...document.querySelectorAll(".draft-card[data-status=queued], .draft-card[data-status=running]")];
  for (const card of pending) {
    try {
      const response = await fetch(card.dataset.api, { headers: { Accept: "application/json" } });
      if (response.ok) render(card, await response.json());
    } catch { /* the next round tries again */ }
  }
  if (document.querySelector(".draft-card[data-status=queued], .draft-card[data-status=running]")) {
    setTimeout(poll, 1000);
  }
}
poll();
