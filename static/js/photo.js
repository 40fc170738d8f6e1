// The photo page: the before/after slider, and live progress of drafts (polling the API).
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

function showDraft(draft) {
  // The first finished draft appears in the viewer without a reload.
  if (!colourLayer.hidden) return;
  colourLayer.src = draft.image_url;
  colourLayer.hidden = false;
  colourLabel.textContent = draft.label;
  colourLabel.hidden = false;
  document.querySelector(".compare-control").hidden = false;
}

function render(card, draft) {
  card.dataset.status = draft.status;
  const bar = card.querySelector("[role=progressbar]");
  if (bar) {
    bar.setAttribute("aria-valuenow", draft.progress);
    bar.querySelector(".progress-bar").style.width = `${draft.progress}%`;
  }
  const stage = card.querySelector(".draft-stage");
  if (stage) stage.textContent = draft.stage;
  if (draft.status === "done") {
    const img = document.createElement("img");
    img.src = draft.thumbnail_url;
    img.alt = "AI-colorized draft";
    const link = document.createElement("a");
    link.href = draft.image_url;
    link.append(img);
    const label = document.createElement("p");
    label.className = "ai-label ai-label-small";
    label.textContent = draft.label;
    card.querySelector(".draft-placeholder")?.replaceWith(link);
    link.after(label);
    bar?.remove();
    if (stage) stage.textContent = "Done";
    showDraft(draft);
  } else if (draft.status === "failed") {
    bar?.remove();
    if (stage) { stage.className = "error"; stage.textContent = `${draft.error} Reload the page to try again.`; }
  }
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
    setTimeout(poll, 1500);
  }
}
poll();
