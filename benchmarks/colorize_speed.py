"""End-to-end colorization speed and memory, against the cost of just reading and writing the file.

``python benchmarks/colorize_speed.py [--model PATH] [--threads 2] [--runs 5] [--skip-50mp] [--precision P]``

Targets (2 CPU cores): JPEG in -> JPEG out within 5x of decoding the input plus encoding a
JPEG of the same size (the two timed alternately, medians of ``--runs``); PNG within 1.3x (PNG
encoding dominates); a 512 px preview with 10 hints in 150 ms (median of >= 10 runs, after
warm-up; made as the editor's preview is: the network at the render size, its chroma guided up
to 512 px; the network at 512 px is printed too, without a target); a 50-megapixel scan under
4 GB peak RSS (measured in a child process via ru_maxrss). Speed does not depend on the weights,
so without a trained checkpoint a randomly initialized default-config model is used.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from colorization.engine.checkpoint import save_checkpoint  # noqa: E402
from colorization.engine.defaults import PRECISIONS  # noqa: E402
from colorization.engine.imageio import encode, read_luminance  # noqa: E402
from colorization.engine.inference import DEFAULT_MODEL_PATH, DEFAULT_RENDER_SIZE, Colorizer  # noqa: E402
from colorization.engine.network import ColorNet  # noqa: E402

PHOTO = Path("/work/shared/data/bw/Detroit_circa_1915.jpg")
METADATA = {"model": "benchmark", "model_version": "1", "original_sha256": "0" * 64}
TARGETS = {"jpeg_ratio": 5.0, "png_ratio": 1.3, "preview_ms": 150.0, "rss_50mp_gb": 4.0}


def make_photo(width: int, height: int) -> Image.Image:
    """A real photo cropped to the aspect and upscaled: detail like a scan, not like noise."""
    source = PHOTO if PHOTO.exists() else None
    if source is None:  # pragma: no cover - outside the project's data folder
        rng = np.random.default_rng(0)
        return Image.fromarray(rng.integers(0, 256, (height // 8, width // 8), dtype=np.uint8)).resize((width, height))
    with Image.open(source) as im:
        im = im.convert("L")
        aspect = width / height
        w, h = im.size
        if w / h > aspect:
            crop_w = round(h * aspect)
            im = im.crop(((w - crop_w) // 2, 0, (w - crop_w) // 2 + crop_w, h))
        else:
            crop_h = round(w / aspect)
            im = im.crop((0, (h - crop_h) // 2, w, (h - crop_h) // 2 + crop_h))
        return im.resize((width, height), Image.Resampling.LANCZOS)


def median_times(*fns, runs: int) -> list[float]:
    """Median time of each of ``fns``, run in turn ``runs`` times, so that the machine's drift (a busy
    neighbour, frequency changes) falls on all of them alike rather than on whichever ran last."""
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(runs):
        for fn, samples in zip(fns, times, strict=True):
            t0 = time.perf_counter()
            fn()
            samples.append(time.perf_counter() - t0)
    return [statistics.median(samples) for samples in times]


def median_time(fn, runs: int) -> float:
    return median_times(fn, runs=runs)[0]


def model_path(arg: str | None, tmp: Path) -> tuple[Path, str]:
    if arg:
        return Path(arg), "given"
    if DEFAULT_MODEL_PATH.exists():
        return DEFAULT_MODEL_PATH, "trained base model"
    torch.manual_seed(0)
    path = tmp / "random.safetensors"
    save_checkpoint(ColorNet(), path)
    return path, "random default-config model"


def run_child(path: Path, model: Path, threads: int, precision: str | None) -> dict:
    """Colorize one big file in a fresh process and report its peak RSS."""
    torch.set_num_threads(threads)
    t0 = time.perf_counter()
    colorizer = Colorizer.load(model, device="cpu", precision=precision)
    image = read_luminance(path)
    rgb = colorizer.colorize(image)
    data = encode(rgb, "jpeg", METADATA)
    seconds = time.perf_counter() - t0
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "pixels": image.width * image.height,
        "seconds": round(seconds, 2),
        "bytes": len(data),
        "peak_rss_kb": peak_kb,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="checkpoint (default: the base model, else a random one)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--render-size", type=int, default=DEFAULT_RENDER_SIZE)
    parser.add_argument("--preview-runs", type=int, default=15)
    parser.add_argument("--skip-50mp", action="store_true")
    parser.add_argument(
        "--precision", choices=PRECISIONS, help="the network's float format (default: COLORIZE_PRECISION)"
    )
    parser.add_argument("--child", nargs=2, metavar=("IMAGE", "MODEL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_child(Path(args.child[0]), Path(args.child[1]), args.threads, args.precision)))
        return

    torch.set_num_threads(args.threads)
    results: dict = {
        "threads": args.threads,
        "render_size": args.render_size,
        "cpu_count": os.cpu_count(),
        "load_average": os.getloadavg()[0],
    }
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        model, model_kind = model_path(args.model, tmp)
        results["model"] = model_kind
        colorizer = Colorizer.load(model, device="cpu", precision=args.precision)
        results["precision"] = colorizer.precision
        photo = make_photo(3000, 2000)
        files = {"jpeg": tmp / "photo.jpg", "png": tmp / "photo.png"}
        photo.save(files["jpeg"], quality=90)
        photo.save(files["png"])

        rows = []
        for fmt, path in files.items():
            out = colorizer.colorize(
                read_luminance(path), render_size=args.render_size
            )  # warm-up, and the array the baseline encodes

            def baseline(path=path, fmt=fmt, out=out) -> None:
                with Image.open(path) as im:
                    im.load()
                encode(out, fmt, METADATA)

            def end_to_end(path=path, fmt=fmt, rs=args.render_size) -> None:
                encode(colorizer.colorize(read_luminance(path), render_size=rs), fmt, METADATA)

            t_base, t_full = median_times(baseline, end_to_end, runs=args.runs)
            ratio = t_full / t_base
            results[f"{fmt}_baseline_s"] = round(t_base, 3)
            results[f"{fmt}_end_to_end_s"] = round(t_full, 3)
            results[f"{fmt}_ratio"] = round(ratio, 2)
            rows.append(
                (
                    f"{fmt.upper()} 3000x2000 in -> {fmt.upper()} out",
                    f"{t_full * 1000:.0f} ms",
                    f"{ratio:.2f}x",
                    f"<= {TARGETS[fmt + '_ratio']}x",
                    f"decode+encode {t_base * 1000:.0f} ms",
                )
            )

        # Stages, to see where the time goes (JPEG input).
        image = read_luminance(files["jpeg"])
        results["stage_read_ms"] = round(median_time(lambda: read_luminance(files["jpeg"]), args.runs) * 1000, 1)
        results["stage_colorize_ms"] = round(
            median_time(lambda: colorizer.colorize(image, render_size=args.render_size), args.runs) * 1000, 1
        )
        rgb = colorizer.colorize(image, render_size=args.render_size)
        results["stage_encode_jpeg_ms"] = round(median_time(lambda: encode(rgb, "jpeg", METADATA), args.runs) * 1000, 1)

        rng = np.random.default_rng(0)
        hints = {
            "points": [
                {"x": int(x), "y": int(y), "color": f"#{int(c):06x}", "size": 5}
                for x, y, c in zip(
                    rng.integers(0, 3000, 10), rng.integers(0, 2000, 10), rng.integers(0, 1 << 24, 10), strict=True
                )
            ]
        }
        # The editor's preview: network at the draft's render size, chroma guided up to 512 px (as the
        # final render is made). Then, for comparison, the network itself at 512 px (no target).
        preview_runs = max(10, args.preview_runs)
        for key, network_size, label, target in (
            ("preview_ms", args.render_size, "512 px preview, 10 hints", f"<= {TARGETS['preview_ms']:.0f} ms"),
            ("preview_network_512_ms", 512, "  the same, network at 512 px", ""),
        ):
            for _ in range(3):
                colorizer.preview(image, hints, render_size=network_size)
            t = median_time(lambda n=network_size: colorizer.preview(image, hints, render_size=n), preview_runs)
            results[key] = round(t * 1000, 1)
            rows.append(
                (label, f"{t * 1000:.0f} ms", "", target, f"median of {preview_runs}, network {network_size} px")
            )

        if not args.skip_50mp:
            big = tmp / "scan50mp.jpg"
            make_photo(8660, 5774).save(big, quality=90)
            child = subprocess.run(
                [
                    *(sys.executable, __file__, "--threads", str(args.threads)),
                    *("--precision", results["precision"], "--child", str(big), str(model)),
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            info = json.loads(child.stdout.strip().splitlines()[-1])
            gb = info["peak_rss_kb"] / 1024**2
            results["rss_50mp_gb"] = round(gb, 2)
            results["seconds_50mp"] = info["seconds"]
            rows.append(
                (
                    f"50 MP scan ({info['pixels'] / 1e6:.1f} MP), JPEG out",
                    f"{gb:.2f} GB peak RSS",
                    "",
                    f"<= {TARGETS['rss_50mp_gb']:.0f} GB",
                    f"{info['seconds']:.1f} s",
                )
            )

    print(
        f"model: {model_kind}; network in {results['precision']}; render size {args.render_size}; "
        f"threads: {args.threads}; "
        f"load average {results['load_average']:.2f}"
    )
    widths = (38, 20, 9, 11, 28)
    header = ("case", "measured", "ratio", "target", "note")
    print("".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    for row in rows:
        print("".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)))
    print(
        f"stages (JPEG): read {results['stage_read_ms']} ms, colorize {results['stage_colorize_ms']} ms, "
        f"encode {results['stage_encode_jpeg_ms']} ms"
    )
    results["meets_targets"] = {
        "jpeg": results["jpeg_ratio"] <= TARGETS["jpeg_ratio"],
        "png": results["png_ratio"] <= TARGETS["png_ratio"],
        "preview": results["preview_ms"] <= TARGETS["preview_ms"],
        **({"rss_50mp": results["rss_50mp_gb"] <= TARGETS["rss_50mp_gb"]} if "rss_50mp_gb" in results else {}),
    }
    print(json.dumps(results))


if __name__ == "__main__":
    main()
