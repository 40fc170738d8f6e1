"""Video colorization: flicker and accuracy of frame by frame vs the flow-carried method, speed, memory.

    python benchmarks/video.py [--clips DIR] [--max-frames N] [--configs per-frame,every8:0.85,...]
                               [--threads 2] [--memory-seconds 600] [--skip-memory] [--out FILE.md]

For each colour clip in ``--clips`` (default ../shared/data/video/colour): the clip is turned
greyscale exactly (its luma plane kept, chroma set neutral; written losslessly), colorized once per
configuration, and compared with the true colours:

* PSNR (RGB, 8-bit, mean over frames) against the truth;
* temporal warping error (Lai et al. 2018): for each t, frame t-1 of the OUTPUT is warped onto frame
  t with the optical flow computed on the TRUE colour frames (OpenCV DIS, medium preset, full
  resolution), and the squared RGB difference (values in [0, 1], summed over channels) is averaged
  over the non-occluded pixels (forward-backward consistency of the true flow) and over frames.
  Pairs across a cut in the truth are left out (flow has no meaning there).

Speed: each render is timed end to end (decode + colorize + encode, one process, ``--threads``
torch/OpenCV threads) and compared with decoding and re-encoding alone (same encoder settings).
Memory: a synthetic grey 1080p clip of ``--memory-seconds`` is generated and colorized in a child
process; its peak RSS and the RSS at each tenth of the clip are reported (flat = streaming).
The machine load (``uptime``) is printed with the speed figures: rerun on a quiet machine for
numbers worth quoting.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import av  # noqa: E402
import cv2  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from colorization.engine.inference import DEFAULT_MODEL_PATH, Colorizer  # noqa: E402
from colorization.engine.video import (  # noqa: E402
    ShotDetector,
    VideoColorizer,
    iter_planes,
    matrix_for,
    ycbcr_to_rgb,
)

CLIPS = ROOT.parent / "shared" / "data" / "video" / "colour"


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def write_grey(src: Path, dst: Path, max_frames: int | None) -> tuple[int, str]:
    """The clip with its luma kept and neutral chroma, lossless H.264 (qp 0), audio left out."""
    with av.open(str(src)) as container:
        stream = container.streams.video[0]
        matrix = matrix_for(stream.codec_context.colorspace, stream.codec_context.height)
        out = av.open(str(dst), "w", format="mp4")
        o = out.add_stream("libx264", rate=stream.average_rate)
        o.width, o.height, o.pix_fmt = stream.codec_context.width, stream.codec_context.height, "yuv420p"
        o.time_base = stream.time_base
        o.codec_context.colorspace = stream.codec_context.colorspace
        o.options = {"qp": "0", "preset": "ultrafast"}
        n = 0
        for planes in iter_planes(container, stream):
            if max_frames and n >= max_frames:
                break
            frame = av.VideoFrame.from_ndarray(
                np.concatenate((planes.y, np.full((planes.y.shape[0] // 2, planes.y.shape[1]), 128, np.uint8))),
                format="yuv420p",
            )
            frame.pts, frame.time_base = planes.pts, stream.time_base
            for p in o.encode(frame):
                out.mux(p)
            n += 1
        for p in o.encode():
            out.mux(p)
        out.close()
    return n, matrix


def passthrough_seconds(src: Path, dst: Path, crf: int, preset: str) -> float:
    """Decode and re-encode with the render's encoder settings: the floor the render is compared with."""
    started = time.perf_counter()
    with av.open(str(src)) as container:
        stream = container.streams.video[0]
        out = av.open(str(dst), "w", format="mp4")
        o = out.add_stream("libx264", rate=stream.average_rate)
        o.width, o.height, o.pix_fmt = stream.codec_context.width, stream.codec_context.height, "yuv420p"
        o.time_base = stream.time_base
        o.options = {"crf": str(crf), "preset": preset}
        o.thread_count = torch.get_num_threads()
        for planes in iter_planes(container, stream):
            frame = av.VideoFrame.from_ndarray(np.concatenate((planes.y, planes.u.reshape(-1, planes.y.shape[1]),
                                                               planes.v.reshape(-1, planes.y.shape[1]))),
                                               format="yuv420p")  # fmt: skip
            frame.pts, frame.time_base = planes.pts, stream.time_base
            for p in o.encode(frame):
                out.mux(p)
        for p in o.encode():
            out.mux(p)
        out.close()
    return time.perf_counter() - started


def rgb_frames(path: Path, matrix: str, max_frames: int | None):
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        for n, planes in enumerate(iter_planes(container, stream)):
            if max_frames and n >= max_frames:
                return
            yield ycbcr_to_rgb(planes.y, planes.u, planes.v, matrix)


def compare(truth: Path, output: Path, matrix: str, max_frames: int | None) -> dict:
    """PSNR and Lai et al.'s warping error of ``output`` against ``truth`` (flow from the truth)."""
    flow = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    detector = ShotDetector()
    psnrs, warp_errors, chroma_errors, truth_errors = [], [], [], []
    previous = None
    for true_rgb, out_rgb in zip(rgb_frames(truth, matrix, max_frames), rgb_frames(output, matrix, None), strict=True):
        mse = np.mean((true_rgb.astype(np.float32) - out_rgb.astype(np.float32)) ** 2)
        psnrs.append(10 * np.log10(255**2 / max(mse, 1e-10)))
        grey = cv2.cvtColor(true_rgb, cv2.COLOR_RGB2GRAY)
        small = cv2.resize(grey, (160, 90), interpolation=cv2.INTER_AREA)
        cut = detector.update(small)
        if previous is not None and not cut:
            prev_grey, prev_out, prev_true = previous
            h, w = grey.shape
            grid = np.stack(np.meshgrid(np.arange(w), np.arange(h)), -1).astype(np.float32)
            back = flow.calc(grey, prev_grey, None)  # t -> t-1
            fwd = flow.calc(prev_grey, grey, None)  # t-1 -> t
            at = back + grid
            fwd_at = cv2.remap(fwd, at[..., 0], at[..., 1], cv2.INTER_LINEAR)
            # occlusion: forward-backward inconsistency (Sundaram et al. 2010, as Lai et al. use)
            diff = np.sum((back + fwd_at) ** 2, -1)
            bound = 0.01 * (np.sum(back**2, -1) + np.sum(fwd_at**2, -1)) + 0.5
            mask = (diff <= bound).astype(np.float32)
            warped = cv2.remap(prev_out, at[..., 0], at[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            if mask.sum() > 0:
                n = mask.sum()
                warp_errors.append(_masked(out_rgb, warped, mask, n))
                chroma_errors.append(_masked(_chroma(out_rgb), _chroma(warped), mask, n))
                true_warped = cv2.remap(
                    prev_true, at[..., 0], at[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
                )
                truth_errors.append(_masked(true_rgb, true_warped, mask, n))
        previous = (grey, out_rgb, true_rgb)
    return {
        "frames": len(psnrs),
        "psnr": float(np.mean(psnrs)),
        "warp_error": float(np.mean(warp_errors)) if warp_errors else float("nan"),
        "chroma_warp_error": float(np.mean(chroma_errors)) if chroma_errors else float("nan"),
        "truth_warp_error": float(np.mean(truth_errors)) if truth_errors else float("nan"),
    }


def _chroma(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2YCrCb)[..., 1:]


def _masked(a: np.ndarray, b: np.ndarray, mask: np.ndarray, n: float) -> float:
    """Lai et al.'s per-frame term: squared difference summed over channels (values in [0, 1]), masked mean."""
    d = np.sum(((a.astype(np.float32) - b.astype(np.float32)) / 255) ** 2, -1)
    return float((d * mask).sum() / n)


def parse_configs(text: str) -> list[tuple[str, dict]]:
    configs = []
    for spec in text.split(","):
        if spec == "per-frame":
            configs.append((spec, {"per_frame": True}))
        else:  # everyN:carry
            every, _, carry = spec.removeprefix("every").partition(":")
            configs.append((spec, {"network_every": int(every), "carry": float(carry or 0.85)}))
    return configs


def memory_child(seconds: float, model: str, threads: int) -> None:
    """Run in a child process: generate a grey 1080p clip, colorize it, print RSS samples as JSON."""
    torch.set_num_threads(threads)
    cv2.setNumThreads(threads)
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "long.mp4", Path(tmp) / "long-colour.mp4"
        fps, w, h = 25, 1920, 1080
        frames = int(seconds * fps)
        out = av.open(str(src), "w", format="mp4")
        o = out.add_stream("libx264", rate=fps)
        o.width, o.height, o.pix_fmt = w, h, "yuv420p"
        o.options = {"preset": "ultrafast", "crf": "28"}
        rng = np.random.default_rng(0)
        texture = cv2.resize(rng.integers(40, 220, (h // 8, w // 4), dtype=np.uint8), (w * 2, h), cv2.INTER_CUBIC)
        chroma = np.full((h // 2, w), 128, np.uint8)
        for i in range(frames):
            x = (i * 3) % w
            frame = av.VideoFrame.from_ndarray(np.concatenate((texture[:, x : x + w], chroma)), format="yuv420p")
            frame.pts, frame.time_base = i, Fraction(1, fps)
            for p in o.encode(frame):
                out.mux(p)
        for p in o.encode():
            out.mux(p)
        out.close()
        baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        samples = []
        page = os.sysconf("SC_PAGE_SIZE")

        def progress(done: int, total: int) -> None:
            if done % max(1, frames // 10) == 0:
                with open("/proc/self/statm") as f:
                    samples.append((done, int(f.read().split()[1]) * page / 2**20))

        colorizer = Colorizer.load(model, device="cpu")
        started = time.perf_counter()
        VideoColorizer(colorizer).render(src, dst, progress=progress)
        elapsed = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps({"frames": frames, "seconds": elapsed, "peak_mb": peak, "before_render_peak_mb": baseline,
                          "rss_mb": samples}))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=Path, default=CLIPS)
    parser.add_argument("--model", default=str(DEFAULT_MODEL_PATH))
    parser.add_argument("--max-frames", type=int, default=0, help="per clip; 0 = all")
    parser.add_argument("--configs", default="per-frame,every8:0.85")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--crf", type=int, default=20)
    parser.add_argument("--preset", default="veryfast")
    parser.add_argument("--memory-seconds", type=float, default=600)
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--skip-quality", action="store_true")
    parser.add_argument("--memory-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help="also write the report (markdown) here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cv2.setNumThreads(args.threads)
    if args.memory_child:
        memory_child(args.memory_seconds, args.model, args.threads)
        return
    lines = [f"# benchmarks/video.py — {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}", ""]
    lines.append(f"command: `{' '.join(sys.argv)}`  ")
    lines.append(f"threads: {args.threads}; encoder libx264 crf {args.crf} preset {args.preset}  ")
    lines.append(f"load before: `{uptime()}`")
    lines.append("")
    results: dict = {}
    if not args.skip_quality:
        colorizer = Colorizer.load(args.model, device="cpu")
        configs = parse_configs(args.configs)
        lines.append(
            "| clip | frames | method | PSNR dB | warping error ×1000 (truth's own) | chroma-only ×1000 "
            "| frames/s end to end | × decode+encode |"
        )
        lines.append("| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |")
        with tempfile.TemporaryDirectory() as tmp:
            for clip in sorted(args.clips.glob("*.mp4")):
                grey = Path(tmp) / f"{clip.stem}-grey.mp4"
                frames, matrix = write_grey(clip, grey, args.max_frames or None)
                floor = passthrough_seconds(grey, Path(tmp) / "pass.mp4", args.crf, args.preset)
                for name, kwargs in configs:
                    out = Path(tmp) / f"{clip.stem}-{name}.mp4"
                    renderer = VideoColorizer(colorizer, crf=args.crf, preset=args.preset, **kwargs)
                    result = renderer.render(grey, out)
                    scores = compare(clip, out, matrix, args.max_frames or None)
                    row = {**scores, "fps": result.frames / result.seconds, "ratio": result.seconds / floor,
                           "network_frames": result.network_frames, "floor_fps": frames / floor}  # fmt: skip
                    results.setdefault(name, {})[clip.stem] = row
                    lines.append(
                        f"| {clip.stem} | {frames} | {name} | {row['psnr']:.2f} | {1000 * row['warp_error']:.3f} "
                        f"({1000 * row['truth_warp_error']:.3f}) | {1000 * row['chroma_warp_error']:.4f} "
                        f"| {row['fps']:.1f} | {row['ratio']:.2f} |"
                    )
                    print(lines[-1], flush=True)
        lines.append("")
        lines.append(
            "| method | mean PSNR dB | mean warping error ×1000 | chroma-only ×1000 | vs per-frame "
            "| mean frames/s | mean × d+e |"
        )
        lines.append("| --- | ---: | ---: | ---: | --- | ---: | ---: |")
        base = results.get("per-frame")
        for name, per_clip in results.items():
            psnr = np.mean([r["psnr"] for r in per_clip.values()])
            warp = np.mean([r["warp_error"] for r in per_clip.values()])
            chroma_warp = np.mean([r["chroma_warp_error"] for r in per_clip.values()])
            rel = ""
            if base and name != "per-frame":
                ratios = [per_clip[c]["warp_error"] / base[c]["warp_error"] for c in per_clip]
                chroma = [per_clip[c]["chroma_warp_error"] / base[c]["chroma_warp_error"] for c in per_clip]
                excess = [
                    (per_clip[c]["warp_error"] - per_clip[c]["truth_warp_error"])
                    / (base[c]["warp_error"] - base[c]["truth_warp_error"])
                    for c in per_clip
                ]
                dpsnr = psnr - np.mean([r["psnr"] for r in base.values()])
                rel = (
                    f"warp {100 * (1 - np.mean(ratios)):.0f} % lower; chroma-only {100 * (1 - np.mean(chroma)):.0f} % "
                    f"lower; excess over the truth's {100 * (1 - np.mean(excess)):.0f} % lower; PSNR {dpsnr:+.2f} dB"
                )
            fps = np.mean([r["fps"] for r in per_clip.values()])
            ratio = np.mean([r["ratio"] for r in per_clip.values()])
            lines.append(
                f"| {name} | {psnr:.2f} | {1000 * warp:.3f} | {1000 * chroma_warp:.4f} | {rel} | {fps:.1f} "
                f"| {ratio:.2f} |"
            )
        lines.append("")
        lines.append(f"load after quality/speed: `{uptime()}`")
    if not args.skip_memory:
        child = subprocess.run(
            [sys.executable, __file__, "--memory-child", "--memory-seconds", str(args.memory_seconds),
             "--model", args.model, "--threads", str(args.threads)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        memory = json.loads(child.stdout.strip().splitlines()[-1])
        results["memory"] = memory
        lines.append("")
        lines.append(
            f"Memory, synthetic 1080p clip of {args.memory_seconds:g} s ({memory['frames']} frames): "
            f"peak RSS {memory['peak_mb']:.0f} MB "
            f"(process before the render: {memory['before_render_peak_mb']:.0f} MB); "
            f"RSS at tenths: {', '.join(f'{d}: {m:.0f}' for d, m in memory['rss_mb'])} MB; "
            f"{memory['frames'] / memory['seconds']:.1f} frames/s at 1080p; load `{uptime()}`"
        )
    report = "\n".join(lines) + "\n"
    print(report)
    if args.out:
        args.out.write_text(report)
        args.out.with_suffix(".json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
