// The hint set being edited, in ORIGINAL pixel coordinates (DESIGN.md's hints format),
// with undo/redo. Every change that should be undoable ends in commit(); a drag is one
// step: begin() remembers the state before it, and live moves in between are not steps.

const clone = (value) => JSON.parse(JSON.stringify(value));

export class HintStore {
  constructor({ width, height, limits, initial }) {
    this.width = width;
    this.height = height;
    this.limits = limits;
    // global: the photo's overall colours ({palette|tint, saturation, source}) or null
    this.state = { points: [], strokes: [], global: initial?.global ? clone(initial.global) : null };
    for (const p of initial?.points || []) this.state.points.push(this.#point(p));
    for (const s of initial?.strokes || []) this.state.strokes.push({ ...s, points: s.points.map((q) => [...q]) });
    this.undoStack = [];
    this.redoStack = [];
    this.pending = null; // the state before a drag in progress
    this.listeners = new Set();
    this.nextId = 1;
    for (const p of this.state.points) p.id = this.nextId++;
    for (const s of this.state.strokes) s.id = this.nextId++;
  }

  #point(p) {
    return { x: p.x, y: p.y, color: p.color, size: p.size ?? 3 };
  }

  onChange(listener) {
    this.listeners.add(listener);
  }

  #emit(kind) {
    for (const listener of this.listeners) listener(kind);
  }

  clamp(x, y) {
    return [Math.min(this.width - 1, Math.max(0, Math.round(x))), Math.min(this.height - 1, Math.max(0, Math.round(y)))];
  }

  // -- history

  begin() {
    if (!this.pending) this.pending = clone(this.state);
  }

  // Ends a drag: one undo step if anything changed.
  commit() {
    const before = this.pending;
    this.pending = null;
    if (!before) return;
    if (JSON.stringify(before) === JSON.stringify(this.state)) {
      this.#emit("noop");
      return;
    }
    this.#push(before);
    this.#emit("commit");
  }

  #push(before) {
    this.undoStack.push(before);
    if (this.undoStack.length > 200) this.undoStack.shift();
    this.redoStack = [];
  }

  #mutate(fn, kind) {
    if (this.pending) {
      fn();
      this.#emit("live");
      return;
    }
    const before = clone(this.state);
    fn();
    this.#push(before);
    this.#emit(kind);
  }

  get canUndo() {
    return this.undoStack.length > 0;
  }

  get canRedo() {
    return this.redoStack.length > 0;
  }

  undo() {
    if (this.pending || !this.canUndo) return false;
    this.redoStack.push(clone(this.state));
    this.state = this.undoStack.pop();
    this.#emit("undo");
    return true;
  }

  redo() {
    if (this.pending || !this.canRedo) return false;
    this.undoStack.push(clone(this.state));
    this.state = this.redoStack.pop();
    this.#emit("redo");
    return true;
  }

  // -- reading

  get points() {
    return this.state.points;
  }

  get strokes() {
    return this.state.strokes;
  }

  get global() {
    return this.state.global;
  }

  get isEmpty() {
    return !this.state.points.length && !this.state.strokes.length && !this.state.global;
  }

  get hasLocal() {
    return this.state.points.length > 0 || this.state.strokes.length > 0;
  }

  find(id) {
    return this.state.points.find((p) => p.id === id) || this.state.strokes.find((s) => s.id === id) || null;
  }

  // The JSON the API takes: no ids, whole pixels.
  toJSON() {
    const out = {
      points: this.state.points.map(({ x, y, color, size }) => ({ x, y, color, size })),
      strokes: this.state.strokes.map(({ points, color, width }) => ({ points, color, width })),
    };
    if (this.state.global) out.global = clone(this.state.global);
    return out;
  }

  // The point under (x, y) in original pixels, within `slack` original pixels; topmost first.
  pointAt(x, y, slack) {
    for (let i = this.state.points.length - 1; i >= 0; i--) {
      const p = this.state.points[i];
      const reach = p.size / 2 + slack;
      if (Math.abs(p.x + 0.5 - x) <= reach && Math.abs(p.y + 0.5 - y) <= reach) return p;
    }
    return null;
  }

  // -- editing (each is one undo step unless inside begin() ... commit())

  // The overall colour: a {palette: [{color, weight}], saturation, source} or {tint: {color, strength}, ...}
  // object, or null to clear it.
  setGlobal(value) {
    const next = value ? clone(value) : null;
    if (JSON.stringify(next) === JSON.stringify(this.state.global)) return;
    this.#mutate(() => {
      this.state.global = next;
    }, "global");
  }

  addPoint(x, y, color, size) {
    if (this.state.points.length >= this.limits.max_points) {
      throw new Error(`At most ${this.limits.max_points} hints; delete some first.`);
    }
    const [cx, cy] = this.clamp(x, y);
    const point = { id: this.nextId++, x: cx, y: cy, color, size };
    this.#mutate(() => this.state.points.push(point), "add");
    return point;
  }

  movePoint(id, x, y) {
    const point = this.find(id);
    if (!point) return;
    const [cx, cy] = this.clamp(x, y);
    if (cx === point.x && cy === point.y) return;
    this.#mutate(() => Object.assign(point, { x: cx, y: cy }), "move");
  }

  updatePoint(id, changes) {
    const item = this.find(id);
    if (!item) return;
    this.#mutate(() => Object.assign(item, changes), "update");
  }

  remove(id) {
    this.#mutate(() => {
      this.state.points = this.state.points.filter((p) => p.id !== id);
      this.state.strokes = this.state.strokes.filter((s) => s.id !== id);
    }, "remove");
  }

  // A stroke grows while the pointer moves (inside begin()/commit()).
  startStroke(x, y, color, width) {
    if (this.state.strokes.length >= this.limits.max_strokes) {
      throw new Error(`At most ${this.limits.max_strokes} strokes; erase some first.`);
    }
    const stroke = { id: this.nextId++, points: [this.clamp(x, y)], color, width };
    this.#mutate(() => this.state.strokes.push(stroke), "stroke");
    return stroke;
  }

  extendStroke(stroke, x, y) {
    const [cx, cy] = this.clamp(x, y);
    const [lx, ly] = stroke.points[stroke.points.length - 1];
    // Keep a point every ~quarter width: smooth enough, and far below the server's limit.
    const step = Math.max(1, stroke.width / 4);
    if (Math.hypot(cx - lx, cy - ly) < step || stroke.points.length >= this.limits.max_stroke_points) return;
    this.#mutate(() => stroke.points.push([cx, cy]), "stroke");
  }

  // Remove what lies within `radius` of (x, y): whole points, and the stretches of strokes
  // there (a stroke cut in the middle becomes two).
  erase(x, y, radius) {
    const near = (qx, qy, reach) => Math.hypot(qx - x, qy - y) <= radius + reach;
    const points = this.state.points.filter((p) => !near(p.x, p.y, p.size / 2));
    const strokes = [];
    let changed = points.length !== this.state.points.length;
    for (const stroke of this.state.strokes) {
      const dense = densify(stroke.points, Math.max(1, stroke.width / 4));
      let run = [];
      const runs = [];
      for (const q of dense) {
        if (near(q[0], q[1], stroke.width / 2)) {
          changed = true;
          if (run.length) runs.push(run);
          run = [];
        } else {
          run.push(q);
        }
      }
      if (run.length) runs.push(run);
      if (runs.length === 1 && runs[0].length === dense.length) {
        strokes.push(stroke);
        continue;
      }
      runs.forEach((points, i) =>
        strokes.push({ ...stroke, id: i === 0 ? stroke.id : this.nextId++, points: simplify(points, stroke.width / 4) }),
      );
    }
    if (!changed) return false;
    this.#mutate(() => {
      this.state.points = points;
      this.state.strokes = strokes;
    }, "erase");
    return true;
  }

  clear() {
    if (!this.hasLocal) return;
    this.#mutate(() => {
      this.state.points = [];
      this.state.strokes = [];
    }, "clear");
  }
}

// Points along a polyline at most `step` apart (so erasing cuts where the eraser touched).
function densify(points, step) {
  const out = [points[0]];
  for (let i = 1; i < points.length; i++) {
    const [x0, y0] = points[i - 1];
    const [x1, y1] = points[i];
    const n = Math.ceil(Math.hypot(x1 - x0, y1 - y0) / step);
    for (let k = 1; k <= n; k++) out.push([Math.round(x0 + ((x1 - x0) * k) / n), Math.round(y0 + ((y1 - y0) * k) / n)]);
  }
  return out;
}

function simplify(points, step) {
  const out = [points[0]];
  for (const q of points.slice(1)) {
    const [lx, ly] = out[out.length - 1];
    if (Math.hypot(q[0] - lx, q[1] - ly) >= step) out.push(q);
  }
  const last = points[points.length - 1];
  if (out[out.length - 1] !== last) out.push(last);
  return out;
}
