"""What a global colour hint is worth, and what a wrong one costs.

    python benchmarks/global_hints.py [--model FILE] [--base FILE] [--sets bsds-val urban100 sun-hays era-test]
                                      [--limit N] [--threads N] [--out benchmarks/results/global_hints.json]

Each colour photo is made grey and colorized at 0 and 10 simulated local hints (3×3 patches of the
truth, seeded by file name, as ``evaluate_model`` makes them) under each global hint, given the way
the editor gives them:

* ``none``: no global hint;
* ``reference``: the photo itself as the reference photograph (its 16-colour palette, as the
  editor's "open a reference photograph" sends it);
* ``palette5``: a 5-colour palette of the photo's own colours;
* ``tint``: its mean colour as a tint at full strength;
* ``wrong``: another photo of the same set as the reference (the next one in name order): what a
  wrong reference costs.

It reports mean PSNR and colourfulness ratio per condition, the gains over ``none``, and checks the
issue's targets. With ``--base`` it also runs the parent model (base v4) at 0 / 10 / 50 hints and the
model without a global hint at 50 hints, so "no global hint: within 0.05 dB of the parent" is measured
rather than assumed. ``era-test`` is the core fine-tuning benchmark's never-ingested Prokudin-Gorskii photos.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from colorization.engine.color import rgb_to_lab  # noqa: E402
from colorization.engine.defaults import GLOBAL_HINT_FREE_SCALE  # noqa: E402
from colorization.engine.global_hints import GlobalHint, palette_from_rgb  # noqa: E402
from colorization.engine.inference import DEFAULT_MODEL_PATH, Colorizer  # noqa: E402
from colorization.engine.metrics import evaluate_images, load_truth  # noqa: E402
from colorization.engine.training import find_images  # noqa: E402

VAL = ROOT.parent / "shared" / "data" / "val"
CONDITIONS = ("none", "reference", "palette5", "tint", "wrong")
TARGETS = {  # condition -> minimum PSNR gain over "none" at 0 local hints, on every set
    "reference": 1.5,
    "palette5": 1.0,
}
TARGET_LOCAL_PLUS_REFERENCE = 0.5  # 10 local hints + the reference over 10 local hints alone
TARGET_NO_HINT_DRIFT = 0.05  # |none - parent| at 0 / 10 / 50 hints


def set_paths(name: str) -> list[Path]:
    if name == "era-test":
        from community_finetune import DATA, outer_split

        return [p for p in find_images([DATA]) if outer_split(p.name) == "test"]
    return find_images([VAL / name])


def mean_ab(rgb: np.ndarray) -> tuple[float, float]:
    lab = rgb_to_lab(torch.from_numpy(rgb).double() / 255, dim=-1)
    return float(lab[..., 1].mean()), float(lab[..., 2].mean())


def hint_maker(condition: str, truths: dict[str, np.ndarray], names: list[str]):
    """name, truth -> the GlobalHint this condition gives the photo (None for "none")."""
    if condition == "none":
        return None
    palettes: dict[tuple[str, int], GlobalHint] = {}

    def palette(name: str, colours: int) -> GlobalHint:
        if (name, colours) not in palettes:
            ab, weights = palette_from_rgb(truths[name], colours=colours)
            palettes[(name, colours)] = GlobalHint.from_palette(ab, weights)
        return palettes[(name, colours)]

    def make(name: str, truth: np.ndarray) -> GlobalHint:
        if condition == "reference":
            return palette(name, 16)
        if condition.startswith("reference") and condition[9:].isdigit():  # e.g. reference32
            return palette(name, int(condition[9:]))
        if condition == "palette5":
            return palette(name, 5)
        if condition == "tint":
            return GlobalHint.from_palette(np.array([mean_ab(truth)]), np.array([1.0]))
        other = names[(names.index(name) + 1) % len(names)]  # "wrong"
        return palette(other, 16)

    return make


def run(colorizer: Colorizer, truths: dict[str, np.ndarray], condition: str, hints: tuple[int, ...]) -> dict:
    names = sorted(truths)
    result = evaluate_images(
        colorizer,
        ((n, truths[n]) for n in names),
        hints=hints,
        total=len(names),
        global_hint=hint_maker(condition, truths, names),
        perceptual=False,  # PSNR and colourfulness are what the targets name
    )
    return {
        k: {"psnr": v["psnr"], "colourfulness_ratio": v["colourfulness_ratio"], "delta_L_max": v["delta_L_max"]}
        for k, v in result["hints"].items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL_PATH)
    parser.add_argument("--base", type=Path, help="the parent model, to measure the no-hint drift against")
    parser.add_argument("--sets", nargs="+", default=["bsds-val", "urban100", "sun-hays", "era-test"])
    parser.add_argument("--conditions", nargs="+", default=list(CONDITIONS), choices=CONDITIONS)
    parser.add_argument("--limit", type=int)
    parser.add_argument(
        "--global-shift",
        type=float,
        help="after the network (and after the local hints' propagation, as far as they leave room), "
        "move the mean colour this far to the hint's (0-1)",
    )
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    colorizer = Colorizer.load(args.model, "cpu")
    if args.global_shift is not None:
        colorizer.global_shift = args.global_shift
    base = Colorizer.load(args.base, "cpu") if args.base else None
    report: dict = {
        "model": str(args.model),
        "model_sha256": colorizer.sha256,
        "global_hints_branch": colorizer.model.config.global_hints,
        "precision": colorizer.precision,
        "global_shift": colorizer.global_shift,
        "global_hint_free_scale": GLOBAL_HINT_FREE_SCALE,
        "sets": {},
    }
    checks = []
    start = time.monotonic()
    for name in args.sets:
        paths = set_paths(name)
        paths = paths[: args.limit] if args.limit else paths
        truths = {p.name: load_truth(p) for p in paths}
        rows = {c: run(colorizer, truths, c, (0, 10)) for c in args.conditions}
        entry: dict = {"photos": len(truths), "conditions": rows}
        if base is not None:
            entry["parent"] = run(base, truths, "none", (0, 10, 50))
            entry["none_at_50"] = run(colorizer, truths, "none", (50,))["50"]
        report["sets"][name] = entry
        none = rows.get("none")
        print(f"\n{name}: {len(truths)} photos")
        print(f"{'global hint':<12} {'PSNR 0':>8} {'gain':>7} {'PSNR 10':>8} {'gain':>7} {'colourf. 0':>10}")
        for c, r in rows.items():
            g0 = r["0"]["psnr"] - none["0"]["psnr"] if none else float("nan")
            g10 = r["10"]["psnr"] - none["10"]["psnr"] if none else float("nan")
            print(
                f"{c:<12} {r['0']['psnr']:>8.2f} {g0:>+7.2f} {r['10']['psnr']:>8.2f} {g10:>+7.2f} "
                f"{r['0']['colourfulness_ratio']:>10.2f}"
            )
        if none:
            for c, minimum in TARGETS.items():
                if c in rows:
                    gain = rows[c]["0"]["psnr"] - none["0"]["psnr"]
                    checks.append((f"{name}: {c} at 0 local hints ≥ +{minimum} dB", gain, gain >= minimum))
            if "reference" in rows:
                gain = rows["reference"]["10"]["psnr"] - none["10"]["psnr"]
                ok = gain >= TARGET_LOCAL_PLUS_REFERENCE
                checks.append((f"{name}: 10 local + reference ≥ +{TARGET_LOCAL_PLUS_REFERENCE} dB", gain, ok))
        if base is not None and none:
            ours = {"0": none["0"]["psnr"], "10": none["10"]["psnr"], "50": entry["none_at_50"]["psnr"]}
            for k, v in ours.items():
                drift = v - entry["parent"][k]["psnr"]
                label = f"{name}: no global hint vs parent at {k} hints, |Δ| ≤ {TARGET_NO_HINT_DRIFT} dB"
                checks.append((label, drift, abs(drift) <= TARGET_NO_HINT_DRIFT))
    print("\ntargets:")
    for label, value, ok in checks:
        print(f"  {'met ' if ok else 'MISS'} {label}: {value:+.2f}")
    report["checks"] = [{"target": label, "value": round(v, 4), "met": ok} for label, v, ok in checks]
    report["seconds"] = round(time.monotonic() - start, 1)
    line = json.dumps(report)
    print(line)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
