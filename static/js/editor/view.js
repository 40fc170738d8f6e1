// The stage: two stacked canvases (the photograph below, hints above, so the picture's
// pixels can be read without the markers), zoom and pan, and the before/after split.
// Image space is the ORIGINAL photograph's pixels; the view maps it to CSS pixels.

const MIN_ZOOM = 0.05;
const MAX_ZOOM = 16;

export class Stage {
  // reserve(): CSS px of the window's height the controls around the canvas need, so that the canvas
  // and its bars fit in the window together (the photograph gets the rest).
  constructor({ wrap, imageCanvas, overlayCanvas, width, height, reserve = () => 0 }) {
    this.reserve = reserve;
    this.wrap = wrap;
    this.imageCanvas = imageCanvas;
    this.overlay = overlayCanvas;
    this.width = width; // original pixels
    this.height = height;
    this.scale = 1; // CSS px per original px
    this.offsetX = 0; // CSS px of image x = 0
    this.offsetY = 0;
    this.split = 1; // fraction of the width showing colour (the before/after slider)
    this.showOriginal = false;
    this.original = null; // drawable images
    this.colour = null;
    this.onViewChange = () => {};
    this.drawOverlay = () => {};
    new ResizeObserver(() => this.resize()).observe(wrap);
    window.addEventListener("resize", () => this.resize());
    this.resize(true);
  }

  resize(fit = false) {
    const cssWidth = this.wrap.clientWidth;
    // As tall as the photograph at the full width, but never taller than the window leaves room for.
    const room = window.innerHeight - this.reserve();
    const cssHeight = Math.round(Math.max(240, Math.min(room, (cssWidth * this.height) / this.width)));
    const ratio = window.devicePixelRatio || 1;
    for (const canvas of [this.imageCanvas, this.overlay]) {
      canvas.style.width = `${cssWidth}px`;
      canvas.style.height = `${cssHeight}px`;
      canvas.width = Math.round(cssWidth * ratio);
      canvas.height = Math.round(cssHeight * ratio);
    }
    this.wrap.style.height = `${cssHeight}px`;
    this.cssWidth = cssWidth;
    this.cssHeight = cssHeight;
    // Keep the view the volunteer chose; otherwise (or the first time) fit the new size.
    if (fit || !this.adjusted) this.fit();
    else this.render();
  }

  get fitScale() {
    return Math.min(this.cssWidth / this.width, this.cssHeight / this.height);
  }

  fit() {
    this.adjusted = false;
    this.scale = this.fitScale;
    this.offsetX = (this.cssWidth - this.width * this.scale) / 2;
    this.offsetY = (this.cssHeight - this.height * this.scale) / 2;
    this.render();
  }

  // Zoom by `factor` keeping the image point under CSS (cx, cy) in place.
  zoom(factor, cx = this.cssWidth / 2, cy = this.cssHeight / 2) {
    const scale = Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, this.scale * factor));
    this.adjusted = true;
    const [ix, iy] = this.toImage(cx, cy);
    this.scale = scale;
    this.offsetX = cx - ix * scale;
    this.offsetY = cy - iy * scale;
    this.render();
  }

  pan(dx, dy) {
    this.adjusted = true;
    this.offsetX += dx;
    this.offsetY += dy;
    this.render();
  }

  // Pan just enough that original pixel (x, y) is on screen (keyboard editing while zoomed in).
  reveal(x, y, margin = 40) {
    const [sx, sy] = this.toScreen(x, y);
    const dx = sx < margin ? margin - sx : sx > this.cssWidth - margin ? this.cssWidth - margin - sx : 0;
    const dy = sy < margin ? margin - sy : sy > this.cssHeight - margin ? this.cssHeight - margin - sy : 0;
    if (dx || dy) this.pan(dx, dy);
  }

  get zoomPercent() {
    return Math.round((this.scale / this.fitScale) * 100);
  }

  // CSS px (relative to the canvas) <-> original pixels.
  toImage(cx, cy) {
    return [(cx - this.offsetX) / this.scale, (cy - this.offsetY) / this.scale];
  }

  toScreen(x, y) {
    return [x * this.scale + this.offsetX, y * this.scale + this.offsetY];
  }

  eventToImage(event) {
    const rect = this.overlay.getBoundingClientRect();
    return this.toImage(event.clientX - rect.left, event.clientY - rect.top);
  }

  setImages({ original, colour }) {
    if (original !== undefined) this.original = original;
    if (colour !== undefined) this.colour = colour;
    this.render();
  }

  render() {
    const ratio = window.devicePixelRatio || 1;
    const ctx = this.imageCanvas.getContext("2d");
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = "#5f5f5b"; // neutral grey around the photograph (UI.md)
    ctx.fillRect(0, 0, this.imageCanvas.width, this.imageCanvas.height);
    ctx.setTransform(ratio * this.scale, 0, 0, ratio * this.scale, ratio * this.offsetX, ratio * this.offsetY);
    ctx.imageSmoothingEnabled = this.scale < 2; // past 200% show the pixels as they are
    const splitX = this.showOriginal || !this.colour ? 0 : this.split * this.width;
    if (this.original && splitX < this.width) {
      ctx.drawImage(this.original, 0, 0, this.width, this.height);
    }
    if (this.colour && splitX > 0) {
      const src = this.colour;
      const sw = src.naturalWidth || src.width;
      const sh = src.naturalHeight || src.height;
      const cut = Math.min(sw, Math.max(0, (splitX / this.width) * sw));
      if (cut > 0) ctx.drawImage(src, 0, 0, cut, sh, 0, 0, splitX, this.height);
    }
    if (this.colour && splitX > 0 && splitX < this.width) {
      ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
      const [sx] = this.toScreen(splitX, 0);
      ctx.fillStyle = "#ffffff";
      ctx.fillRect(sx - 1, 0, 2, this.cssHeight);
    }
    this.renderOverlay();
    this.onViewChange();
  }

  renderOverlay() {
    const ratio = window.devicePixelRatio || 1;
    const ctx = this.overlay.getContext("2d");
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, this.overlay.width, this.overlay.height);
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    this.drawOverlay(ctx);
  }

  // The colour shown at original pixel (x, y): from the colour image (or the original).
  sampleColour(x, y) {
    const src = this.showOriginal || !this.colour ? this.original : this.colour;
    if (!src) return null;
    const sw = src.naturalWidth || src.width;
    const sh = src.naturalHeight || src.height;
    const canvas = document.createElement("canvas");
    canvas.width = canvas.height = 1;
    const ctx = canvas.getContext("2d", { willReadFrequently: true });
    const px = Math.floor((x / this.width) * sw);
    const py = Math.floor((y / this.height) * sh);
    ctx.drawImage(src, px, py, 1, 1, 0, 0, 1, 1);
    const [r, g, b] = ctx.getImageData(0, 0, 1, 1).data; // throws on a cross-origin image without CORS
    return toHex(r, g, b);
  }
}

export function toHex(r, g, b) {
  return `#${[r, g, b].map((v) => v.toString(16).padStart(2, "0")).join("")}`;
}
