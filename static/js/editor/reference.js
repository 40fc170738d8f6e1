// A reference image the volunteer opens from their own computer (never uploaded): a colour
// photograph of the same uniform or building to pick colours from. Click it, or focus it
// and move a crosshair with the arrow keys and press Enter.

import { toHex } from "./view.js";

export function setupReference({ input, canvas, clearButton, onPick, announce }) {
  let image = null;
  let cross = null; // keyboard crosshair in canvas pixels

  const draw = () => {
    if (!image) return;
    const width = canvas.parentElement.clientWidth || 240;
    const scale = Math.min(1, width / image.naturalWidth);
    canvas.width = Math.max(1, Math.round(image.naturalWidth * scale));
    canvas.height = Math.max(1, Math.round(image.naturalHeight * scale));
    const ctx = canvas.getContext("2d", { willReadFrequently: true });
    ctx.drawImage(image, 0, 0, canvas.width, canvas.height);
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
      cross = null;
      canvas.hidden = false;
      clearButton.hidden = false;
      draw();
      announce(`Reference image “${file.name}” opened. Click it to pick a colour.`);
    };
    candidate.onerror = () => {
      URL.revokeObjectURL(url);
      announce(`“${file.name}” is not an image this browser can show. Try a JPEG or PNG.`, true);
    };
    candidate.src = url;
  });

  canvas.addEventListener("click", (event) => {
    if (!image) return;
    const rect = canvas.getBoundingClientRect();
    const x = ((event.clientX - rect.left) / rect.width) * canvas.width;
    const y = ((event.clientY - rect.top) / rect.height) * canvas.height;
    pick(x, y);
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
      pick(cross[0], cross[1]);
    }
  });

  clearButton.addEventListener("click", () => {
    if (image) URL.revokeObjectURL(image.src);
    image = null;
    canvas.hidden = true;
    clearButton.hidden = true;
    input.value = "";
    input.focus();
  });

  new ResizeObserver(draw).observe(canvas.parentElement);
}
