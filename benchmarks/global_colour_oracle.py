"""How much of a model's error (without hints) is each photo's overall colour?

    python benchmarks/global_colour_oracle.py [--model FILE] [--images DIR ... | --era-test] [--limit N]

For each photo it colorizes the greyscale version without hints and reports the mean PSNR of
the greyscale image, of the model's output, and of two oracles that know the true colours:
"shift" moves the output's mean a and b to the photo's true means; "affine" fits a scale and an
offset per chroma channel (least squares). The lightness is the original's in all of them. A
large gap between the model and "shift" says the model paints the right things in the wrong
overall cast — what a global (whole-photo) feature can learn — rather than the wrong local
colours. It also says how well the model predicts each photo's mean chroma: the mean squared
error (in a*b* units) of the output's mean a*, b* against the truth's, beside the error of the best
constant guess (the set's own average cast) — "explained" is the share of the photo-to-photo cast
variance the model gets right. ``--era-test`` takes the core fine-tuning benchmark's held-out Prokudin-Gorskii photos.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from colorization.engine.color import lab_to_rgb, rgb_to_lab  # noqa: E402
from colorization.engine.imageio import rgb_to_lightness_u8  # noqa: E402
from colorization.engine.inference import DEFAULT_MODEL_PATH, Colorizer  # noqa: E402
from colorization.engine.metrics import load_truth, psnr  # noqa: E402
from colorization.engine.training import find_images  # noqa: E402

VAL = ROOT.parent / "shared" / "data" / "val"


def _lab(rgb: np.ndarray) -> torch.Tensor:
    return rgb_to_lab(torch.from_numpy(rgb).permute(2, 0, 1).double() / 255)


def _rgb(lab: torch.Tensor) -> np.ndarray:
    return (lab_to_rgb(lab).permute(1, 2, 0).numpy() * 255).round().clip(0, 255).astype(np.uint8)


def oracles(out: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """PSNR of the output, its greyscale, and the two oracle corrections of its chroma."""
    lo, lt = _lab(out), _lab(truth)
    grey, shift, affine = lo.clone(), lo.clone(), lo.clone()
    grey[1:] = 0
    shift[1:] += (lt[1:].mean((1, 2)) - lo[1:].mean((1, 2)))[:, None, None]
    for ch in (1, 2):
        x, y = lo[ch].flatten(), lt[ch].flatten()
        A = torch.stack((x, torch.ones_like(x)), 1)
        affine[ch] = (A @ torch.linalg.lstsq(A, y[:, None]).solution).reshape(lo[ch].shape)
    return {
        "grey": psnr(_rgb(grey), truth),
        "model": psnr(out, truth),
        "shift": psnr(_rgb(shift), truth),
        "affine": psnr(_rgb(affine), truth),
    }


def mean_chroma(rgb: np.ndarray) -> np.ndarray:
    """A photo's mean a* and b*."""
    return _lab(rgb)[1:].mean((1, 2)).numpy()


def cast_prediction(truth_means: np.ndarray, model_means: np.ndarray) -> dict[str, float]:
    """How well per-photo mean chroma is predicted: the model's squared error against the set average's."""
    model_error = float(((model_means - truth_means) ** 2).sum(1).mean())
    constant_error = float(((truth_means - truth_means.mean(0)) ** 2).sum(1).mean())
    return {
        "cast_error_model": round(model_error, 2),
        "cast_error_constant": round(constant_error, 2),
        "explained": round(1 - model_error / constant_error, 3) if constant_error else 0.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL_PATH)
    parser.add_argument("--images", nargs="+", type=Path, default=[VAL / "urban100"])
    parser.add_argument("--era-test", action="store_true", help="the core fine-tuning benchmark's held-out photos")
    parser.add_argument("--limit", type=int)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.era_test:
        from community_finetune import DATA, outer_split

        paths = [p for p in find_images([DATA]) if outer_split(p.name) == "test"]
    else:
        paths = find_images(args.images)
    paths = paths[: args.limit] if args.limit else paths
    colorizer = Colorizer.load(args.model, "cpu")
    rows, truth_means, model_means = [], [], []
    for path in paths:
        truth = load_truth(path)
        out = colorizer.colorize(rgb_to_lightness_u8(truth))
        rows.append(oracles(out, truth))
        truth_means.append(mean_chroma(truth))
        model_means.append(mean_chroma(out))
    means = {k: round(float(np.mean([r[k] for r in rows])), 3) for k in rows[0]}
    cast = cast_prediction(np.array(truth_means), np.array(model_means))
    print(f"{len(rows)} photos, mean PSNR (dB): " + ", ".join(f"{k} {v:.2f}" for k, v in means.items()))
    print(
        f"per-photo mean chroma, squared error: model {cast['cast_error_model']:.1f}, "
        f"set average {cast['cast_error_constant']:.1f} (explained {cast['explained']:.0%})"
    )
    print(json.dumps({"model": str(args.model), "photos": len(rows), "psnr": means, "cast": cast}))


if __name__ == "__main__":
    main()
