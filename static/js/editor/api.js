// Talking to the API: the live preview (debounced; a newer edit cancels the request in
// flight, so only the latest hints are ever shown), suggested colours, and submissions.

export function csrfToken() {
  return document.querySelector("input[name=csrfmiddlewaretoken]")?.value || "";
}

// An API error body {"error", "detail", "fields"} as an Error with those attached.
export async function apiError(response) {
  let body = {};
  try {
    body = await response.json();
  } catch {
    body = { detail: `The server answered ${response.status} ${response.statusText}.` };
  }
  if (response.status === 429) body.detail = `${body.detail || "Too many requests."} Wait a moment and try again.`;
  if (response.status === 403 || response.status === 401) {
    body.detail = `${body.detail || "Not allowed."} Are you still signed in? Reload the page to check.`;
  }
  const error = new Error(body.detail || `Request failed (${response.status}).`);
  error.fields = body.fields || {};
  error.status = response.status;
  error.retryAfter = Number(response.headers.get("Retry-After")) || null;
  return error;
}

export class PreviewClient {
  constructor({ url, settings, delay = 200, onStart, onImage, onError }) {
    this.url = url;
    this.settings = settings; // model, render_size, saturation, size
    this.delay = delay;
    this.onStart = onStart;
    this.onImage = onImage;
    this.onError = onError;
    this.timer = null;
    this.controller = null;
    this.generation = 0;
    this.objectUrl = null;
  }

  // Ask for a preview of `hints` after `delay` ms of quiet.
  schedule(hints) {
    clearTimeout(this.timer);
    this.cancel(); // an edit makes the request in flight stale at once
    this.timer = setTimeout(() => this.request(hints), this.delay);
  }

  cancel() {
    if (this.controller) {
      this.controller.abort();
      this.controller = null;
    }
  }

  async request(hints) {
    const generation = ++this.generation;
    this.cancel();
    const controller = new AbortController();
    this.controller = controller;
    const body = { hints, size: this.settings.size, saturation: this.settings.saturation };
    if (this.settings.model) body.model = this.settings.model;
    if (this.settings.render_size) body.render_size = this.settings.render_size;
    if (this.settings.frame != null) body.frame = this.settings.frame; // a film clip's keyframe
    const started = performance.now();
    this.onStart?.();
    try {
      const response = await fetch(this.url, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "image/png", "X-CSRFToken": csrfToken() },
        body: JSON.stringify(body),
        signal: controller.signal,
        credentials: "same-origin",
      });
      if (!response.ok) throw await apiError(response);
      const blob = await response.blob();
      const image = await loadImage(URL.createObjectURL(blob));
      if (generation !== this.generation) {
        URL.revokeObjectURL(image.src);
        return;
      }
      if (this.objectUrl) URL.revokeObjectURL(this.objectUrl);
      this.objectUrl = image.src;
      const model = { slug: response.headers.get("X-Model"), version: response.headers.get("X-Model-Version") };
      this.onImage?.(image, { ms: Math.round(performance.now() - started), model, hints });
    } catch (error) {
      if (error.name === "AbortError" || generation !== this.generation) return;
      this.onError?.(error);
    } finally {
      if (this.controller === controller) this.controller = null;
    }
  }
}

export function loadImage(src) {
  return new Promise((resolve, reject) => {
    const image = new Image();
    image.decoding = "async";
    image.onload = () => resolve(image);
    image.onerror = () => reject(new Error(`Could not load the image ${src}.`));
    image.src = src;
  });
}

export async function suggestColours({ url, x, y, hints, settings, signal }) {
  const body = { x: Math.round(x), y: Math.round(y), hints, k: 6 };
  if (settings.model) body.model = settings.model;
  if (settings.render_size) body.render_size = settings.render_size;
  if (settings.frame != null) body.frame = settings.frame;
  const response = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken() },
    body: JSON.stringify(body),
    signal,
    credentials: "same-origin",
  });
  if (!response.ok) throw await apiError(response);
  return (await response.json()).colors;
}
