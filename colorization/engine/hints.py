"""User hints: parse the JSON the editor sends and paint it onto the network's input grid.

The format (see DESIGN.md) is coordinates in pixels of the ORIGINAL image, origin
top-left::

    {"points":  [{"x": 120, "y": 48, "color": "#7a5230", "size": 3}],
     "strokes": [{"points": [[10, 10], [40, 12]], "color": "#3b5e2b", "width": 6}],
     "global":  {"palette": [{"color": "#7a5230", "weight": 0.4}, {"color": "#8da0b8", "weight": 0.6}],
                 "saturation": 1.0,
                 "source": {"kind": "reference", "name": "plate-14.jpg", "box": [0, 0, 400, 300]}}}

``global`` (optional) sets the photo's overall colours in one action: a ``palette`` of up to 32
weighted colours, or a ``tint`` ``{"color": "#c08a4a", "strength": 0.3}`` (the photo's mean colour
becomes that colour's chroma times the strength); ``saturation`` (0-2, default 1) scales the
chroma of either; ``source`` records how the volunteer made it (a reference photograph's name and
rectangle, the suggestions, a palette by hand, a tint) and does not change the render.

Hints arrive from browsers and API clients, so parsing is strict and every
rejection names the offending field in words a volunteer can act on. Only a
hint colour's chroma (Lab a, b) is used; the photo keeps its own lightness.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
from PIL import Image, ImageDraw

from .color import rgb_to_lab
from .global_hints import MAX_PALETTE_COLOURS, SATURATION_RANGE, GlobalHint

MAX_POINTS = 1000
MAX_STROKES = 200
MAX_STROKE_POINTS = 5000
POINT_SIZES = (1, 9)  # inclusive range of a point's square side, in original pixels
STROKE_WIDTHS = (1, 64)  # inclusive range of a stroke's width, in original pixels
DEFAULT_POINT_SIZE = 3
DEFAULT_STROKE_WIDTH = 6

_COLOR_RE = re.compile(r"#[0-9a-fA-F]{6}")


class HintError(ValueError):
    """Hints that cannot be used; the message is meant to be shown to the user."""


@dataclass(frozen=True)
class PointHint:
    x: float
    y: float
    color: str  # "#rrggbb", lower case
    size: int = DEFAULT_POINT_SIZE


@dataclass(frozen=True)
class StrokeHint:
    points: tuple[tuple[float, float], ...]
    color: str
    width: int = DEFAULT_STROKE_WIDTH


GLOBAL_SOURCE_KINDS = ("reference", "palette", "suggestions", "tint")
MAX_SOURCE_TEXT = 300


@dataclass(frozen=True)
class GlobalColours:
    """The hints document's ``global`` member, as given: a palette of (colour, weight) or a tint."""

    palette: tuple[tuple[str, float], ...] = ()
    tint: tuple[str, float] | None = None  # (colour, strength)
    saturation: float = 1.0
    source: dict | None = None

    def to_global_hint(self) -> GlobalHint:
        """What the network is given (``global_hints.GlobalHint``)."""
        if self.tint is not None:
            colour, strength = self.tint
            a, b = color_to_ab(colour)
            return GlobalHint(ab=((a * strength, b * strength),), weights=(1.0,), saturation=self.saturation)
        total = sum(w for _, w in self.palette)
        return GlobalHint(
            ab=tuple(color_to_ab(c) for c, _ in self.palette),
            weights=tuple(w / total for _, w in self.palette),
            saturation=self.saturation,
        )

    def to_dict(self) -> dict:
        out: dict = {}
        if self.tint is not None:
            out["tint"] = {"color": self.tint[0], "strength": self.tint[1]}
        else:
            out["palette"] = [{"color": c, "weight": w} for c, w in self.palette]
        out["saturation"] = self.saturation
        if self.source is not None:
            out["source"] = self.source
        return out


@dataclass(frozen=True)
class Hints:
    points: tuple[PointHint, ...] = ()
    strokes: tuple[StrokeHint, ...] = ()
    global_colours: GlobalColours | None = None

    @property
    def has_local(self) -> bool:
        return bool(self.points or self.strokes)

    @property
    def is_empty(self) -> bool:
        return not self.has_local and self.global_colours is None

    def global_hint(self) -> GlobalHint | None:
        return self.global_colours.to_global_hint() if self.global_colours is not None else None

    def to_dict(self) -> dict:
        """The canonical JSON form (what a Draft should record)."""
        out = {
            "points": [{"x": p.x, "y": p.y, "color": p.color, "size": p.size} for p in self.points],
            "strokes": [
                {"points": [list(q) for q in s.points], "color": s.color, "width": s.width} for s in self.strokes
            ],
        }
        if self.global_colours is not None:
            out["global"] = self.global_colours.to_dict()
        return out


@dataclass(frozen=True)
class HintRaster:
    """Hints already painted on a pixel grid: ab (2,H,W) float32 in Lab units, mask (1,H,W) in {0,1}.

    The evaluation passes ground-truth patches at the original resolution this way;
    ``resize`` brings them to the working resolution by mask-weighted area averaging,
    so a hint smaller than a working pixel still counts, with its true mean colour.
    """

    ab: np.ndarray
    mask: np.ndarray
    global_hint: GlobalHint | None = None  # the whole photo's colours, if given

    def __post_init__(self) -> None:
        if self.ab.ndim != 3 or self.ab.shape[0] != 2 or self.mask.shape != (1, *self.ab.shape[1:]):
            raise ValueError(f"hint raster shapes must be (2,H,W) and (1,H,W), got {self.ab.shape}, {self.mask.shape}")

    @property
    def size(self) -> tuple[int, int]:
        return self.ab.shape[2], self.ab.shape[1]

    def resize(self, out_w: int, out_h: int) -> tuple[np.ndarray, np.ndarray]:
        w, h = self.size
        if (w, h) == (out_w, out_h):
            return self.ab.astype(np.float32), (self.mask > 0).astype(np.float32)
        mask = torch.from_numpy((self.mask > 0).astype(np.float32))[None]
        ab = torch.from_numpy(self.ab.astype(np.float32))[None] * mask
        both = torch.cat((ab, mask), 1)
        if out_w <= w and out_h <= h:
            pooled = torch.nn.functional.interpolate(both, size=(out_h, out_w), mode="area")
        else:
            pooled = torch.nn.functional.interpolate(both, size=(out_h, out_w), mode="nearest")
        cover = pooled[:, 2:3]
        ab_out = pooled[:, :2] / cover.clamp(min=1e-12)
        hinted = (cover > 0).float()
        return (ab_out * hinted)[0].numpy(), hinted[0].numpy()


def _fail(message: str) -> HintError:
    return HintError(message)


def _number(value, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(f"{where} must be a number, got {type(value).__name__} {value!r}")
    if not math.isfinite(value):
        raise _fail(f"{where} must be a finite number, got {value!r}")
    return float(value)


def _integer(value, where: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        raise _fail(f"{where} must be a whole number from {low} to {high}, got {value!r}")
    if not low <= value <= high:
        raise _fail(f"{where} must be from {low} to {high}, got {value!r}")
    return int(value)


def _color(value, where: str) -> str:
    if not isinstance(value, str) or not _COLOR_RE.fullmatch(value):
        raise _fail(f'{where} must be a colour written as "#rrggbb" (for example "#7a5230"), got {value!r}')
    return value.lower()


def _position(x, y, width: int, height: int, where: str) -> tuple[float, float]:
    x, y = _number(x, f"{where} x"), _number(y, f"{where} y")
    if not (0 <= x < width and 0 <= y < height):
        raise _fail(f"{where} ({x:g}, {y:g}) is outside the image, which is {width}×{height} pixels")
    return x, y


def _check_keys(item: dict, allowed: set[str], required: set[str], where: str) -> None:
    unknown = set(item) - allowed
    if unknown:
        raise _fail(f"{where} has unknown field(s) {sorted(unknown)}; allowed: {sorted(allowed)}")
    missing = required - set(item)
    if missing:
        raise _fail(f"{where} is missing {sorted(missing)}")


def _list(data: dict, key: str, limit: int) -> list:
    items = data.get(key, [])
    if items is None:
        return []
    if not isinstance(items, list):
        raise _fail(f'"{key}" must be a list, got {type(items).__name__}')
    if len(items) > limit:
        raise _fail(f"too many {key}: {len(items)} (at most {limit})")
    return items


def parse_hints(
    data: dict | None,
    width: int,
    height: int,
    max_points: int = MAX_POINTS,
    max_strokes: int = MAX_STROKES,
    max_stroke_points: int = MAX_STROKE_POINTS,
) -> Hints:
    """Validate hints JSON against an image of ``width``×``height`` original pixels.

    ``size`` and ``width`` may be left out (defaults 3 and 6); every other field is
    required, and unknown fields are refused so that typos do not pass silently.
    """
    if data is None:
        return Hints()
    if not isinstance(data, dict):
        raise _fail(f'hints must be a JSON object with "points" and "strokes", got {type(data).__name__}')
    _check_keys(data, {"points", "strokes", "global"}, set(), "hints")
    points = []
    for i, item in enumerate(_list(data, "points", max_points)):
        where = f"points[{i}]"
        if not isinstance(item, dict):
            raise _fail(f'{where} must be an object like {{"x": 10, "y": 20, "color": "#7a5230", "size": 3}}')
        _check_keys(item, {"x", "y", "color", "size"}, {"x", "y", "color"}, where)
        x, y = _position(item["x"], item["y"], width, height, where)
        size = _integer(item.get("size", DEFAULT_POINT_SIZE), f"{where} size", *POINT_SIZES)
        points.append(PointHint(x, y, _color(item["color"], f"{where} color"), size))
    strokes = []
    for i, item in enumerate(_list(data, "strokes", max_strokes)):
        where = f"strokes[{i}]"
        if not isinstance(item, dict):
            raise _fail(f'{where} must be an object like {{"points": [[10, 10], [40, 12]], "color": "#3b5e2b"}}')
        _check_keys(item, {"points", "color", "width"}, {"points", "color"}, where)
        raw = item["points"]
        if not isinstance(raw, list) or not raw:
            raise _fail(f"{where} points must be a non-empty list of [x, y] pairs")
        if len(raw) > max_stroke_points:
            raise _fail(f"{where} has too many points: {len(raw)} (at most {max_stroke_points})")
        pts = []
        for j, pair in enumerate(raw):
            if not isinstance(pair, list | tuple) or len(pair) != 2:
                raise _fail(f"{where} points[{j}] must be an [x, y] pair, got {pair!r}")
            pts.append(_position(pair[0], pair[1], width, height, f"{where} points[{j}]"))
        stroke_width = _integer(item.get("width", DEFAULT_STROKE_WIDTH), f"{where} width", *STROKE_WIDTHS)
        strokes.append(StrokeHint(tuple(pts), _color(item["color"], f"{where} color"), stroke_width))
    global_colours = parse_global(data["global"]) if data.get("global") is not None else None
    return Hints(tuple(points), tuple(strokes), global_colours)


def parse_global(data) -> GlobalColours:
    """Validate the ``global`` member; every rejection names its field (``global.palette[2].weight``)."""
    example = '{"palette": [{"color": "#7a5230", "weight": 1}]} or {"tint": {"color": "#c08a4a", "strength": 0.3}}'
    if not isinstance(data, dict):
        raise _fail(f"global must be an object like {example}, got {type(data).__name__}")
    _check_keys(data, {"palette", "tint", "saturation", "source"}, set(), "global")
    if ("palette" in data) == ("tint" in data):
        raise _fail(f'global needs exactly one of "palette" or "tint", for example {example}')
    low, high = SATURATION_RANGE
    saturation = _number(data.get("saturation", 1.0), "global.saturation")
    if not low <= saturation <= high:
        raise _fail(f"global.saturation must be from {low:g} to {high:g}, got {saturation:g}")
    source = _global_source(data.get("source"))
    if "tint" in data:
        tint = data["tint"]
        if not isinstance(tint, dict):
            raise _fail('global.tint must be an object like {"color": "#c08a4a", "strength": 0.3}')
        _check_keys(tint, {"color", "strength"}, {"color", "strength"}, "global.tint")
        strength = _number(tint["strength"], "global.tint.strength")
        if not 0 < strength <= 1:
            raise _fail(f"global.tint.strength must be more than 0 and at most 1, got {strength:g}")
        return GlobalColours(
            tint=(_color(tint["color"], "global.tint.color"), strength), saturation=saturation, source=source
        )
    raw = data["palette"]
    if not isinstance(raw, list) or not raw:
        raise _fail(f"global.palette must be a non-empty list of colours, for example {example}")
    if len(raw) > MAX_PALETTE_COLOURS:
        raise _fail(f"global.palette has too many colours: {len(raw)} (at most {MAX_PALETTE_COLOURS})")
    palette = []
    for i, item in enumerate(raw):
        where = f"global.palette[{i}]"
        if not isinstance(item, dict):
            raise _fail(f'{where} must be an object like {{"color": "#7a5230", "weight": 0.4}}')
        _check_keys(item, {"color", "weight"}, {"color"}, where)
        weight = _number(item.get("weight", 1.0), f"{where}.weight")
        if weight < 0:
            raise _fail(f"{where}.weight must not be negative, got {weight:g}")
        palette.append((_color(item["color"], f"{where}.color"), weight))
    if sum(w for _, w in palette) <= 0:
        raise _fail("global.palette weights add up to zero; give at least one colour a positive weight")
    return GlobalColours(palette=tuple(palette), saturation=saturation, source=source)


def _global_source(data) -> dict | None:
    if data is None:
        return None
    if not isinstance(data, dict):
        raise _fail('global.source must be an object like {"kind": "reference", "name": "plate.jpg"}')
    _check_keys(data, {"kind", "name", "box"}, {"kind"}, "global.source")
    if data["kind"] not in GLOBAL_SOURCE_KINDS:
        raise _fail(f"global.source.kind must be one of {', '.join(GLOBAL_SOURCE_KINDS)}, got {data['kind']!r}")
    out: dict = {"kind": data["kind"]}
    if "name" in data:
        name = data["name"]
        if not isinstance(name, str) or len(name) > MAX_SOURCE_TEXT or any(ord(c) < 32 for c in name):
            raise _fail(f"global.source.name must be text of at most {MAX_SOURCE_TEXT} characters")
        out["name"] = name
    if "box" in data:
        box = data["box"]
        if not isinstance(box, list) or len(box) != 4:
            raise _fail("global.source.box must be [left, top, right, bottom] in the reference's pixels")
        left, top, right, bottom = (_integer(v, f"global.source.box[{i}]", 0, 1_000_000) for i, v in enumerate(box))
        if right <= left or bottom <= top:
            raise _fail("global.source.box must have right > left and bottom > top")
        out["box"] = [left, top, right, bottom]
    return out


@lru_cache(maxsize=4096)
def color_to_ab(color: str) -> tuple[float, float]:
    """'#rrggbb' -> its Lab (a, b); the lightness is dropped because the photo keeps its own."""
    rgb = torch.tensor([int(color[i : i + 2], 16) / 255 for i in (1, 3, 5)], dtype=torch.float64)
    lab = rgb_to_lab(rgb, dim=0)
    return float(lab[1]), float(lab[2])


def rasterize(hints: Hints, width: int, height: int, out_w: int, out_h: int) -> tuple[np.ndarray, np.ndarray]:
    """Paint hints given in original ``width``×``height`` pixels onto an ``out_w``×``out_h`` grid.

    Returns (hint_ab (2,out_h,out_w) float32 in Lab units, mask (1,out_h,out_w) float32).
    Strokes are painted first and points over them (points are the precise tool);
    later items overwrite earlier ones. Everything covers at least one output pixel.
    """
    ab = np.zeros((2, out_h, out_w), np.float32)
    mask = np.zeros((1, out_h, out_w), np.float32)
    if not hints.has_local:
        return ab, mask
    index, palette = rasterize_index(hints, width, height, out_w, out_h)
    table = np.asarray(palette, np.float32)  # (K+1, 2)
    ab[:] = table[index].transpose(2, 0, 1)
    mask[0] = index > 0
    return ab, mask


def rasterize_index(
    hints: Hints, width: int, height: int, out_w: int, out_h: int
) -> tuple[np.ndarray, list[tuple[float, float]]]:
    """Which hint each grid pixel shows, as ``rasterize`` paints them: (out_h, out_w) int32, 0 for none,
    k for the k-th hint painted (strokes 1..S in order, then points S+1..), and the palette of ab
    colours indexed the same way (palette[0] unused). Where hints overlap, the one painted last wins.
    """
    if not hints.has_local:
        return np.zeros((out_h, out_w), np.int32), [(0.0, 0.0)]
    sx, sy = out_w / width, out_h / height
    # One integer "which hint" image: index 0 = no hint, k = palette[k].
    canvas = Image.new("I", (out_w, out_h), 0)
    draw = ImageDraw.Draw(canvas)
    palette = [(0.0, 0.0)]

    def to_grid(x: float, y: float) -> tuple[float, float]:
        # Original pixel (x, y) has its centre at (x + 0.5, y + 0.5); PIL puts pixel centres on integers.
        return (x + 0.5) * sx - 0.5, (y + 0.5) * sy - 0.5

    for stroke in hints.strokes:
        palette.append(color_to_ab(stroke.color))
        k = len(palette) - 1
        w = max(1.0, stroke.width * (sx + sy) / 2)
        # Whole grid pixels: PIL truncates line coordinates, so round here to keep lines and caps aligned.
        pts = [tuple(round(v) for v in to_grid(x, y)) for x, y in stroke.points]
        if len(pts) > 1:
            draw.line(pts, fill=k, width=max(1, round(w)), joint="curve" if w >= 3 else None)
        r = (round(w) - 1) / 2  # round caps and joins
        for x, y in pts:
            if r < 1:
                draw.point((x, y), fill=k)
            else:
                draw.ellipse((x - r, y - r, x + r, y + r), fill=k)

    for point in hints.points:
        palette.append(color_to_ab(point.color))
        k = len(palette) - 1
        # The square [x + .5 - s/2, x + .5 + s/2) in original units, mapped to the grid;
        # grid pixels whose centres fall inside are painted, or else the one under the centre.
        cx, cy, half = point.x + 0.5, point.y + 0.5, point.size / 2
        x0, x1 = math.ceil((cx - half) * sx - 0.5), math.ceil((cx + half) * sx - 0.5) - 1
        y0, y1 = math.ceil((cy - half) * sy - 0.5), math.ceil((cy + half) * sy - 0.5) - 1
        if x1 < x0:
            x0 = x1 = math.floor(cx * sx)
        if y1 < y0:
            y0 = y1 = math.floor(cy * sy)
        x0, x1 = max(0, x0), min(out_w - 1, x1)
        y0, y1 = max(0, y0), min(out_h - 1, y1)
        draw.rectangle((x0, y0, x1, y1), fill=k)

    return np.asarray(canvas, dtype=np.int32), palette
