// The "Overall colour" panel: the photo's colours in one action (the hints document's "global"
// member). A reference photograph becomes a palette of its colours (extracted here, in the browser:
// the file itself is never uploaded, only the palette is sent), a palette can be edited by hand or
// filled from the suggestions, and a tint is one colour at a strength. Everything goes through the
// hint store, so undo, redo and the live preview work as they do for local hints.

const REFERENCE_COLOURS = 16; // as the server's palette_from_rgb
const MAX_COLOURS = 32;
const SAMPLES = 4096;

// -- colour conversion (sRGB <-> CIE Lab, D65), for clustering in a perceptual space

const WHITE = [0.95047, 1.0, 1.08883];
const toLinear = (c) => (c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);
const toGamma = (c) => (c <= 0.0031308 ? 12.92 * c : 1.055 * c ** (1 / 2.4) - 0.055);
const f = (t) => (t > 216 / 24389 ? Math.cbrt(t) : (24389 / 27 * t + 16) / 116);
const fInv = (t) => (t ** 3 > 216 / 24389 ? t ** 3 : (116 * t - 16) / (24389 / 27));

export function rgbToLab(r, g, b) {
  const [R, G, B] = [r, g, b].map((v) => toLinear(v / 255));
  const x = (0.4124564 * R + 0.3575761 * G + 0.1804375 * B) / WHITE[0];
  const y = (0.2126729 * R + 0.7151522 * G + 0.072175 * B) / WHITE[1];
  const z = (0.0193339 * R + 0.119192 * G + 0.9503041 * B) / WHITE[2];
  const [fx, fy, fz] = [f(x), f(y), f(z)];
  return [116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)];
}

export function labToHex(L, a, b) {
  const fy = (L + 16) / 116;
  const [x, y, z] = [fInv(fy + a / 500) * WHITE[0], fInv(fy) * WHITE[1], fInv(fy - b / 200) * WHITE[2]];
  const rgb = [
    3.2404542 * x - 1.5371385 * y - 0.4985314 * z,
    -0.969266 * x + 1.8760108 * y + 0.041556 * z,
    0.0556434 * x - 0.2040259 * y + 1.0572252 * z,
  ].map((c) => Math.round(Math.min(1, Math.max(0, toGamma(Math.max(0, c)))) * 255));
  return `#${rgb.map((v) => v.toString(16).padStart(2, "0")).join("")}`;
}

function seeded(seed) {
  // mulberry32: the same reference always gives the same palette
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// k-means on the a*b* of Lab pixels [[L, a, b], ...] -> [{color, weight}], heaviest first.
export function paletteOf(pixels, k = REFERENCE_COLOURS) {
  const random = seeded(1);
  const n = pixels.length;
  if (!n) return [];
  const dist2 = (p, c) => (p[1] - c[1]) ** 2 + (p[2] - c[2]) ** 2;
  const centres = [pixels[Math.floor(random() * n)].slice()];
  while (centres.length < Math.min(k, n)) {
    const d = pixels.map((p) => Math.min(...centres.map((c) => dist2(p, c))));
    const total = d.reduce((s, v) => s + v, 0);
    if (total <= 0) break;
    let r = random() * total;
    let i = 0;
    while (i < n - 1 && (r -= d[i]) > 0) i++;
    centres.push(pixels[i].slice());
  }
  let assign = new Array(n).fill(0);
  for (let iteration = 0; iteration < 12; iteration++) {
    assign = pixels.map((p) => {
      let best = 0;
      for (let c = 1; c < centres.length; c++) if (dist2(p, centres[c]) < dist2(p, centres[best])) best = c;
      return best;
    });
    const sums = centres.map(() => [0, 0, 0, 0]);
    pixels.forEach((p, i) => {
      const s = sums[assign[i]];
      s[0] += p[0];
      s[1] += p[1];
      s[2] += p[2];
      s[3] += 1;
    });
    sums.forEach((s, c) => {
      if (s[3]) centres[c] = [s[0] / s[3], s[1] / s[3], s[2] / s[3]];
    });
  }
  const counts = centres.map((_, c) => assign.filter((a) => a === c).length);
  return centres
    .map((c, i) => ({ color: labToHex(...c), weight: Math.round((counts[i] / n) * 1000) / 1000 }))
    .filter((p) => p.weight > 0)
    .sort((p, q) => q.weight - p.weight);
}

// Lab pixels of `image` within `box` ([left, top, right, bottom] in its natural pixels), sampled.
export function labPixels(image, box) {
  const [left, top, right, bottom] = box || [0, 0, image.naturalWidth, image.naturalHeight];
  const w = right - left;
  const h = bottom - top;
  const scale = Math.min(1, Math.sqrt(SAMPLES / (w * h)));
  const canvas = document.createElement("canvas");
  canvas.width = Math.max(1, Math.round(w * scale));
  canvas.height = Math.max(1, Math.round(h * scale));
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  ctx.drawImage(image, left, top, w, h, 0, 0, canvas.width, canvas.height);
  const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
  const out = [];
  for (let i = 0; i < data.length; i += 4) out.push(rgbToLab(data[i], data[i + 1], data[i + 2]));
  return out;
}

export function setupGlobal({ store, reference, elements, currentColour, suggestions, announce }) {
  const {
    useReference,
    swatchList,
    addColour,
    addSuggestions,
    tintColour,
    tintStrength,
    tintStrengthValue,
    useTint,
    saturation,
    saturationValue,
    clearButton,
    summary,
  } = elements;

  const current = () => store.global;
  const withSaturation = (value) => ({ ...value, saturation: Number(saturation.value) });

  // A change made while dragging a slider is one undo step (begin ... commit), as a hint drag is.
  const live = (input, apply) => {
    input.addEventListener("input", () => {
      store.begin();
      apply();
    });
    input.addEventListener("change", () => store.commit());
  };

  const setPalette = (palette, source) => {
    if (!palette.length) {
      store.setGlobal(null);
      return;
    }
    store.setGlobal(withSaturation({ palette: palette.slice(0, MAX_COLOURS), ...(source ? { source } : {}) }));
  };

  useReference.addEventListener("click", () => {
    const image = reference.image();
    if (!image) {
      announce("Open a reference photograph first.", true);
      return;
    }
    const box = reference.box();
    const palette = paletteOf(labPixels(image, box));
    const source = { kind: "reference", name: reference.name().slice(0, 300) };
    if (box) source.box = box;
    setPalette(palette, source);
    announce(`Overall colour set from ${box ? "the selected region of " : ""}“${reference.name()}”: ${palette.length} colours.`);
  });

  addColour.addEventListener("click", () => {
    const palette = current()?.palette ? current().palette.slice() : [];
    if (palette.length >= MAX_COLOURS) {
      announce(`A palette has at most ${MAX_COLOURS} colours.`, true);
      return;
    }
    palette.push({ color: currentColour(), weight: palette.length ? palette[0].weight : 1 });
    setPalette(palette, current()?.palette ? current().source : { kind: "palette" });
  });

  addSuggestions.addEventListener("click", () => {
    const colours = suggestions();
    if (!colours.length) {
      announce("Place or select a hint to get suggested colours first.", true);
      return;
    }
    const palette = current()?.palette ? current().palette.slice() : [];
    for (const color of colours) if (palette.length < MAX_COLOURS) palette.push({ color, weight: 1 });
    setPalette(palette, { kind: "suggestions" });
  });

  const tintValue = () => ({ tint: { color: tintColour.value, strength: Number(tintStrength.value) / 100 } });
  useTint.addEventListener("click", () => store.setGlobal(withSaturation({ ...tintValue(), source: { kind: "tint" } })));
  live(tintStrength, () => {
    tintStrengthValue.textContent = `${tintStrength.value}%`;
    if (current()?.tint) store.setGlobal(withSaturation({ ...current(), ...tintValue() }));
  });
  tintColour.addEventListener("change", () => {
    if (current()?.tint) store.setGlobal(withSaturation({ ...current(), ...tintValue() }));
  });

  live(saturation, () => {
    saturationValue.textContent = Number(saturation.value).toFixed(2);
    if (current()) store.setGlobal(withSaturation(current()));
  });

  clearButton.addEventListener("click", () => {
    store.setGlobal(null);
    announce("Overall colour cleared.");
  });

  const row = (entry, index) => {
    const li = document.createElement("li");
    li.className = "palette-row";
    const colour = document.createElement("input");
    colour.type = "color";
    colour.value = entry.color;
    colour.setAttribute("aria-label", `Colour ${index + 1}`);
    colour.addEventListener("change", () => {
      const palette = current().palette.map((p, i) => (i === index ? { ...p, color: colour.value } : p));
      setPalette(palette, current().source);
    });
    const weight = document.createElement("input");
    weight.type = "range";
    weight.min = "0";
    weight.max = "100";
    weight.value = String(Math.round(entry.weight * 100));
    weight.setAttribute("aria-label", `Share of colour ${index + 1}`);
    live(weight, () => {
      const palette = current().palette.map((p, i) => (i === index ? { ...p, weight: Number(weight.value) / 100 } : p));
      if (palette.some((p) => p.weight > 0)) setPalette(palette, current().source);
    });
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "button button-small button-quiet";
    remove.textContent = "Remove";
    remove.setAttribute("aria-label", `Remove colour ${index + 1}`);
    remove.addEventListener("click", () => {
      setPalette(current().palette.filter((_, i) => i !== index), current().source);
    });
    li.append(colour, weight, remove);
    return li;
  };

  const render = () => {
    const value = current();
    swatchList.replaceChildren(...(value?.palette || []).map(row));
    clearButton.disabled = !value;
    if (value && value.saturation !== undefined) {
      saturation.value = String(value.saturation);
      saturationValue.textContent = Number(value.saturation).toFixed(2);
    }
    if (value?.tint) {
      tintColour.value = value.tint.color;
      tintStrength.value = String(Math.round(value.tint.strength * 100));
      tintStrengthValue.textContent = `${tintStrength.value}%`;
    }
    let text = "No overall colour: the model chooses the photo's colours.";
    if (value?.tint) text = `Tint ${value.tint.color} at ${Math.round(value.tint.strength * 100)}%.`;
    else if (value?.palette) {
      const from = value.source?.kind === "reference" ? ` from “${value.source.name}”` : "";
      text = `${value.palette.length} colour${value.palette.length === 1 ? "" : "s"}${from}.`;
    }
    if (value && Number(value.saturation ?? 1) !== 1) text += ` Saturation ${Number(value.saturation).toFixed(2)}.`;
    summary.textContent = text;
    summary.dataset.state = value ? (value.tint ? "tint" : "palette") : "none";
  };

  store.onChange((kind) => {
    if (kind !== "live") render();
  });
  render();
}
