"""Choose the default decoding and render size by measurement.

    python benchmarks/choose_decoding.py [--model FILE] [--limit 40] [--json]

For each combination of decoding (regression, blends of the annealed mean) and render size,
evaluates the model on the first ``--limit`` photos of each validation folder with 0, 10 and
50 simulated hints, and prints PSNR gain over the greyscale image, colourfulness ratio and
CIEDE2000. The targets ask for a PSNR gain at every hint count *and* a colourfulness ratio of
at least 0.6 without hints, so the table shows both.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from colorization.engine.inference import DEFAULT_MODEL_PATH, Colorizer, RenderOptions  # noqa: E402
from colorization.engine.metrics import evaluate_folder  # noqa: E402

VAL = ROOT.parent / "shared" / "data" / "val"
DECODINGS = [("regression", 0.0), ("blend", 0.1), ("blend", 0.25), ("blend", 0.5)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL_PATH)
    parser.add_argument("--folders", nargs="+", type=Path, default=[VAL / "bsds-val", VAL / "urban100"])
    parser.add_argument("--limit", type=int, default=40)
    parser.add_argument("--render-sizes", default="256,384,512")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    colorizer = Colorizer.load(args.model, device="cpu")
    sizes = [int(s) for s in args.render_sizes.split(",")]
    rows = []
    for folder, (decode, blend), size in itertools.product(args.folders, DECODINGS, sizes):
        result = evaluate_folder(
            colorizer,
            folder,
            hints=(0, 10, 50),
            render_size=size,
            limit=args.limit,
            options=RenderOptions(decode=decode, blend=blend),
        )
        h = result["hints"]
        row = {
            "folder": folder.name,
            "decode": decode if decode == "regression" else f"blend {blend}",
            "render_size": size,
            "gain_0": h["0"]["psnr_gain_over_grey"],
            "gain_10": h["10"]["psnr_gain_over_grey"],
            "gain_50": h["50"]["psnr_gain_over_grey"],
            "colourfulness_0": h["0"]["colourfulness_ratio"],
            "ciede2000_0": h["0"]["ciede2000"],
        }
        rows.append(row)
        print(
            f"{row['folder']:<10} {row['decode']:<11} {size:>4}  gain {row['gain_0']:+.2f} / {row['gain_10']:+.2f} / "
            f"{row['gain_50']:+.2f} dB  colourfulness {row['colourfulness_0']:.2f}  CIEDE2000 {row['ciede2000_0']:.2f}",
            flush=True,
        )
    if args.json:
        print(json.dumps(rows))


if __name__ == "__main__":
    main()
