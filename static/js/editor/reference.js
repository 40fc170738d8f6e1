// A reference image the volunteer opens from their own computer (never uploaded): a colour
// photograph of the same uniform or building to pick colours from. Click it, or focus it
// and move a crosshair with the arrow keys and press Enter. In region mode a drag (or Enter at
// two corners) selects the rectangle whose colours the overall-colour panel takes.

import { toHex } from "./view.js";

export function setupReference({ input, canvas, clearButton, regionButton, wholeButton, onPick, onOpen, announce }) {
  let image = null;
  let name = "";
  let cross = null; // keyboard crosshair in canvas pixels
  let regionMode = false;
  let box = null; // [left, top, right, bottom] in the image's natural pixels
  let corner = null; // the first corner of a region being drawn, canvas pixels

  const toNatural = (x, y) => [
    Math.round((x / canvas.width) * image.naturalWidth),
    Math.round((y / canvas.height) * image.naturalHeight),
  ];
  const setBox = (a, b) => {
    const [x0, y0] = toNatural(Math.min(a[0], b[0]), Math.min(a[1], b[1]));
    const [x1, y1] = toNatural(Math.max(a[0], b[0]), Math.max(a[1], b[1]));
    box = x1 - x0 >= 2 && y1 - y0 >= 2 ? [x0, y0, x1, y1] : null;
    wholeButton.hidden = !box;
    announce(box ? `Region ${x1 - x0}×${y1 - y0} px selected.` : "The region was too small; the whole photo counts.");
  };
  const setRegionMode = (on) => {
    regionMode = on;
    corner = null;
    regionButton.setAttribute("aria-pressed", String(on));
    canvas.dataset.mode = on ? "region" : "pick";
    canvas.setAttribute(
      "aria-label",
      on ? "Reference image: drag, or press Enter at two corners, to select a region" : "Reference image: click to pick a colour",
    );
  };

  const draw = () => {
    if (!image) return;
    const width = canvas.parentElement.clientWidth || 240;
    const scale = Math.min(1, width / image.naturalWidth);
    canvas.width = Math.max(1, Math.round(image.naturalWidth * scale));
    canvas.height = Math.max(1, Math.round(image.naturalHeight * scale));
    const ctx = canvas.getContext("2d", { willReadFrequently: true });
    ctx.drawImage(image, 0, 0, canvas.width, canvas.height);
    if (box) {
      const sx = canvas.width / image.naturalWidth;
      const sy = canvas.height / image.naturalHeight;
      ctx.setLineDash([4, 3]);
      ctx.strokeStyle = "#fff";
      ctx.lineWidth = 2;
      ctx.strokeRect(box[0] * sx, box[1] * sy, (box[2] - box[0]) * sx, (box[3] - box[1]) * sy);
      ctx.setLineDash([]);
    }
    if (cross) {
      ctx.strokeStyle = "#fff";
      ctx.lineWidth = 3;
      ctx.strokeRect(cross[0] - 5, cross[1] - 5, 10, 10);
      ctx.strokeStyle = "#000";
      ctx.lineWidth = 1;
      ctx.strokeRect(cross[0] - 5, cross[1] - 5, 10, 10);
    }
  };

  const pick = (x, y) => {
    // Read from the image itself, not the canvas (which may show the crosshair).
    const probe = document.createElement("canvas");
    probe.width = probe.height = 1;
    const ctx = probe.getContext("2d", { willReadFrequently: true });
    const sx = (x / canvas.width) * image.naturalWidth;
    const sy = (y / canvas.height) * image.naturalHeight;
    ctx.drawImage(image, Math.floor(sx), Math.floor(sy), 1, 1, 0, 0, 1, 1);
    const [r, g, b] = ctx.getImageData(0, 0, 1, 1).data;
    onPick(toHex(r, g, b));
  };

  input.addEventListener("change", () => {
    const file = input.files[0];
    if (!file) return;
    const url = URL.createObjectURL(file);
    const candidate = new Image();
    candidate.onload = () => {
      if (image) URL.revokeObjectURL(image.src);
      image = candidate;
      name = file.name;
      cross = null;
      box = null;
      canvas.hidden = false;
      clearButton.hidden = false;
      regionButton.hidden = false;
      wholeButton.hidden = true;
      setRegionMode(false);
      draw();
      onOpen?.();
      announce(`Reference image “${file.name}” opened. Click it to pick a colour.`);
    };
    candidate.onerror = () => {
      URL.revokeObjectURL(url);
      announce(`“${file.name}” is not an image this browser can show. Try a JPEG or PNG.`, true);
    };
    candidate.src = url;
  });

  const at = (event) => {
    const rect = canvas.getBoundingClientRect();
    return [((event.clientX - rect.left) / rect.width) * canvas.width, ((event.clientY - rect.top) / rect.height) * canvas.height];
  };
  canvas.addEventListener("click", (event) => {
    if (!image || regionMode) return;
    pick(...at(event));
  });
  canvas.addEventListener("pointerdown", (event) => {
    if (!image || !regionMode) return;
    corner = at(event);
    canvas.setPointerCapture(event.pointerId);
  });
  canvas.addEventListener("pointerup", (event) => {
    if (!image || !regionMode || !corner) return;
    setBox(corner, at(event));
    corner = null;
    draw();
  });
  regionButton.addEventListener("click", () => setRegionMode(!regionMode));
  wholeButton.addEventListener("click", () => {
    box = null;
    wholeButton.hidden = true;
    draw();
    announce("The whole reference photo counts again.");
  });

  canvas.addEventListener("keydown", (event) => {
    if (!image) return;
    const step = event.shiftKey ? 10 : 2;
    const moves = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
    if (moves[event.key]) {
      event.preventDefault();
      event.stopPropagation();
      cross = cross || [canvas.width / 2, canvas.height / 2];
      cross = [
        Math.min(canvas.width - 1, Math.max(0, cross[0] + moves[event.key][0])),
        Math.min(canvas.height - 1, Math.max(0, cross[1] + moves[event.key][1])),
      ];
      draw();
    } else if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      event.stopPropagation();
      cross = cross || [canvas.width / 2, canvas.height / 2];
      if (!regionMode) pick(cross[0], cross[1]);
      else if (!corner) {
        corner = cross.slice();
        announce("First corner set; move to the opposite corner and press Enter.");
      } else {
        setBox(corner, cross);
        corner = null;
        draw();
      }
    }
  });

  clearButton.addEventListener("click", () => {
    if (image) URL.revokeObjectURL(image.src);
    image = null;
    box = null;
    canvas.hidden = true;
    clearButton.hidden = true;
    regionButton.hidden = true;
    wholeButton.hidden = true;
    input.value = "";
    input.focus();
  });

  new ResizeObserver(draw).observe(canvas.parentElement);
  setRegionMode(false);
  return { image: () => image, box: () => box, name: () => name };
}
