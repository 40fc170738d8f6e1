"""Video colorization: flicker and accuracy of frame by frame vs the flow-carried method, speed, memory.

    python benchmarks/video.py [--clips DIR] [--max-frames N] [--skip-frames N]
                               [--configs per-frame,every8:0.85:medium,...] [--threads 2]
                               [--memory-seconds 600] [--skip-memory] [--speed-only] [--out FILE.md]

Quick speed check for a quiet machine: ``python benchmarks/video.py --speed-only`` (the default
method against decoding and re-encoding alone, every clip, no scores, no memory run).

For each colour clip in ``--clips`` (default ../shared/data/video/colour): the clip (from frame
``--skip-frames``, at most ``--max-frames``) is turned greyscale exactly (its luma plane kept, chroma
set neutral; written losslessly), colorized once per configuration (``per-frame``, or
``everyN:carry[:DIS preset]``), and compared with the true colours:

* PSNR (RGB, 8-bit, mean over frames) against the truth;
* temporal warping error (Lai et al. 2018): for each t, frame t-1 of the OUTPUT is warped onto frame
  t with the optical flow computed on the TRUE colour frames (OpenCV DIS, medium preset, full
  resolution), and the squared RGB difference (values in [0, 1], summed over channels) is averaged
  over the non-occluded pixels (forward-backward consistency of the true flow) and over frames.
  Pairs across a cut in the truth are left out (flow has no meaning there). The same on the
  chroma only (Cr, Cb of the RGB output) is reported beside it, and the grey input itself is
  scored as a reference: its RGB warping error is the floor for any output that keeps the luma.

Speed: each render is timed end to end (decode + colorize + encode, one process, ``--threads``
FFmpeg/OpenCV threads) and compared with decoding and re-encoding alone (same encoder settings and
threads), in wall-clock time and in CPU time of the whole process (``time.process_time()``, all
threads), which does not depend on the machine's load; the 1-minute load average is printed beside
each row.
Memory: a synthetic grey 1080p clip of ``--memory-seconds`` is generated and colorized in a child
process; its peak RSS and the RSS at each tenth of the clip are reported (flat = streaming).
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
    DEFAULT_CARRY,
    DEFAULT_FLOW_PRESET,
    DEFAULT_NETWORK_EVERY,
    ShotDetector,
    VideoColorizer,
    iter_planes,
    matrix_for,
    ycbcr_to_rgb,
)

CLIPS = ROOT.parent / "shared" / "data" / "video" / "colour"
GREY = "grey input (reference)"
DEFAULT_SPEC = f"every{DEFAULT_NETWORK_EVERY}:{DEFAULT_CARRY}:{DEFAULT_FLOW_PRESET}"


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def write_grey(src: Path, dst: Path, max_frames: int | None, skip: int = 0) -> tuple[int, str]:
    """The clip (from frame ``skip``) with its luma kept and neutral chroma, lossless H.264 (qp 0), no audio."""
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
        first_pts = None
        for index, planes in enumerate(iter_planes(container, stream)):
            if index < skip:
                continue
            if max_frames and n >= max_frames:
                break
            first_pts = planes.pts if first_pts is None else first_pts
            frame = av.VideoFrame.from_ndarray(
                np.concatenate((planes.y, np.full((planes.y.shape[0] // 2, planes.y.shape[1]), 128, np.uint8))),
                format="yuv420p",
            )
            frame.pts, frame.time_base = planes.pts - first_pts, stream.time_base
            for p in o.encode(frame):
                out.mux(p)
            n += 1
        for p in o.encode():
            out.mux(p)
        out.close()
    return n, matrix


def passthrough_seconds(src: Path, dst: Path, crf: int, preset: str, threads: int) -> tuple[float, float]:
    """Decode and re-encode with the render's encoder settings: the floor the render is compared with.
    Returns (wall seconds, CPU seconds of the whole process, all its threads)."""
    started, cpu = time.perf_counter(), time.process_time()
    with av.open(str(src)) as container:
        stream = container.streams.video[0]
        out = av.open(str(dst), "w", format="mp4")
        o = out.add_stream("libx264", rate=stream.average_rate)
        o.width, o.height, o.pix_fmt = stream.codec_context.width, stream.codec_context.height, "yuv420p"
        o.time_base = stream.time_base
        o.options = {"crf": str(crf), "preset": preset}
        o.thread_count = threads
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
    return time.perf_counter() - started, time.process_time() - cpu


def rgb_frames(path: Path, matrix: str, max_frames: int | None, skip: int = 0):
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        for n, planes in enumerate(iter_planes(container, stream)):
            if n < skip:
                continue
            if max_frames and n >= skip + max_frames:
                return
            yield ycbcr_to_rgb(planes.y, planes.u, planes.v, matrix)


def compare(truth: Path, outputs: list[Path], matrix: str, max_frames: int | None, skip: int = 0) -> list[dict]:
    """PSNR and Lai et al.'s warping error of each of ``outputs`` against ``truth`` (flow from the truth).

    One pass over the truth for all outputs: the true flow (the costly part) is computed once."""
    flow = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    detector = ShotDetector()
    keys = ("psnr", "warp", "chroma", "truth", "truth_chroma")
    scores = [{k: [] for k in keys} for _ in outputs]
    readers = [rgb_frames(output, matrix, None) for output in outputs]
    previous = None
    for true_rgb in rgb_frames(truth, matrix, max_frames, skip):
        outs = [next(reader) for reader in readers]
        grey = cv2.cvtColor(true_rgb, cv2.COLOR_RGB2GRAY)
        cut = detector.update(cv2.resize(grey, (160, 90), interpolation=cv2.INTER_AREA))
        geometry = None
        if previous is not None and not cut:
            prev_grey, _, prev_true = previous
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
            if mask.sum() > 0:
                geometry = at, mask, mask.sum()
        if geometry is not None:
            at, mask, n = geometry
            true_warped = cv2.remap(
                prev_true, at[..., 0], at[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
            )
            truth_term = _masked(true_rgb, true_warped, mask, n)
            truth_chroma_term = _masked(_chroma(true_rgb), _chroma(true_warped), mask, n)
        for score, out_rgb, prev_out in zip(scores, outs, previous[1] if previous else outs, strict=True):
            mse = np.mean((true_rgb.astype(np.float32) - out_rgb.astype(np.float32)) ** 2)
            score["psnr"].append(10 * np.log10(255**2 / max(mse, 1e-10)))
            if geometry is not None:
                warped = cv2.remap(prev_out, at[..., 0], at[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
                score["warp"].append(_masked(out_rgb, warped, mask, n))
                score["chroma"].append(_masked(_chroma(out_rgb), _chroma(warped), mask, n))
                score["truth"].append(truth_term)
                score["truth_chroma"].append(truth_chroma_term)
        previous = (grey, outs, true_rgb)
    for reader in readers:
        if next(reader, None) is not None:
            raise RuntimeError("an output has more frames than the truth")

    def mean(values: list) -> float:
        return float(np.mean(values)) if values else float("nan")

    return [
        {
            "frames": len(score["psnr"]),
            "psnr": mean(score["psnr"]),
            "warp_error": mean(score["warp"]),
            "chroma_warp_error": mean(score["chroma"]),
            "truth_warp_error": mean(score["truth"]),
            "truth_chroma_warp_error": mean(score["truth_chroma"]),
        }
        for score in scores
    ]


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
        else:  # everyN:carry[:DIS preset]
            every, carry, preset = ([*spec.removeprefix("every").split(":"), "", ""])[:3]
            kwargs = {"network_every": int(every), "carry": float(carry or DEFAULT_CARRY)}
            configs.append((spec, kwargs | ({"flow_preset": preset} if preset else {})))
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
        VideoColorizer(colorizer, threads=threads).render(src, dst, progress=progress)
        elapsed = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps({"frames": frames, "seconds": elapsed, "peak_mb": peak, "before_render_peak_mb": baseline,
                          "rss_mb": samples}))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=Path, default=CLIPS)
    parser.add_argument("--model", default=str(DEFAULT_MODEL_PATH))
    parser.add_argument("--max-frames", type=int, default=0, help="per clip; 0 = all")
    parser.add_argument("--skip-frames", type=int, default=0, help="start each clip here (held-out frames)")
    parser.add_argument("--configs", default=f"per-frame,{DEFAULT_SPEC}")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--torch-threads", type=int, default=1, help="intra-op threads of the render's torch work (1, the default)"
    )
    parser.add_argument("--crf", type=int, default=20)
    parser.add_argument("--preset", default="veryfast")
    parser.add_argument("--memory-seconds", type=float, default=600)
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--skip-quality", action="store_true", help="no renders at all (memory only)")
    parser.add_argument(
        "--speed-only", action="store_true", help="time the default method against decode+encode; no scores, no memory"
    )
    parser.add_argument("--memory-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help="also write the report (markdown) here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cv2.setNumThreads(args.threads)
    if args.memory_child:
        memory_child(args.memory_seconds, args.model, args.threads)
        return
    if args.speed_only:
        args.configs, args.skip_memory = DEFAULT_SPEC, True
    lines = [f"# benchmarks/video.py — {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}", ""]
    lines.append(f"command: `{' '.join(sys.argv)}`  ")
    lines.append(
        f"threads: {args.threads} (torch: {args.torch_threads}); encoder libx264 crf {args.crf} preset {args.preset}; "
        f"CPUs: {os.cpu_count()}  "
    )
    lines.append(f"load before: `{uptime()}`")
    lines.append("")
    results: dict = {}
    if not args.skip_quality:
        colorizer = Colorizer.load(args.model, device="cpu")
        configs = parse_configs(args.configs)
        speed_rows = []
        grey_floor: dict = {}
        if not args.speed_only:
            lines.append(
                "| clip | frames | method | PSNR dB | warping error ×1000 (truth's own) "
                "| chroma-only ×1000 (truth's own) | network frames |"
            )
            lines.append("| --- | ---: | --- | ---: | ---: | ---: | ---: |")
        with tempfile.TemporaryDirectory() as tmp:
            for clip in sorted(args.clips.glob("*.mp4")):
                grey = Path(tmp) / f"{clip.stem}-grey.mp4"
                frames, matrix = write_grey(clip, grey, args.max_frames or None, args.skip_frames)
                if frames < 2:
                    continue
                load = os.getloadavg()[0]
                floor, floor_cpu = passthrough_seconds(
                    grey, Path(tmp) / "pass.mp4", args.crf, args.preset, args.threads
                )
                outputs = []
                for name, kwargs in configs:
                    out = Path(tmp) / f"{clip.stem}-{name}.mp4"
                    renderer = VideoColorizer(
                        colorizer,
                        crf=args.crf,
                        preset=args.preset,
                        threads=args.threads,
                        torch_threads=args.torch_threads,
                        **kwargs,
                    )
                    cpu = time.process_time()
                    result = renderer.render(grey, out)
                    cpu = time.process_time() - cpu
                    row = {
                        "fps": result.frames / result.seconds,
                        "ratio": result.seconds / floor,
                        "cpu_ms": 1000 * cpu / frames,
                        "floor_cpu_ms": 1000 * floor_cpu / frames,
                        "cpu_ratio": cpu / floor_cpu,
                        "floor_fps": frames / floor,
                        "load": (load + os.getloadavg()[0]) / 2,
                        "network_frames": result.network_frames,
                        "frames": frames,
                        "size": f"{result.width}×{result.height}",
                    }
                    results.setdefault(name, {})[clip.stem] = row
                    outputs.append(out)
                    speed_rows.append((clip.stem, name, row))
                if args.speed_only:
                    continue
                # The grey input itself: the floor of the RGB warping error for any output that keeps the luma.
                scores = compare(clip, [*outputs, grey], matrix, args.max_frames or None, args.skip_frames)
                grey_floor.setdefault(GREY, {})[clip.stem] = {**scores.pop(), "network_frames": 0}
                rows = []
                for (name, _), score in zip(configs, scores, strict=True):
                    results[name][clip.stem].update(score)
                    rows.append((name, results[name][clip.stem]))
                for name, row in [*rows, (GREY, grey_floor[GREY][clip.stem])]:
                    lines.append(
                        f"| {clip.stem} | {frames} | {name} | {row['psnr']:.2f} | {1000 * row['warp_error']:.3f} "
                        f"({1000 * row['truth_warp_error']:.3f}) | {1000 * row['chroma_warp_error']:.4f} "
                        f"({1000 * row['truth_chroma_warp_error']:.3f}) | {row['network_frames']} |"
                    )
                    print(lines[-1], flush=True)
        base = results.get("per-frame")
        if not args.speed_only:
            lines.append("")
            lines.append("| method | mean PSNR dB | mean warping error ×1000 | chroma-only ×1000 | vs per-frame |")
            lines.append("| --- | ---: | ---: | ---: | --- |")
            for name, per_clip in (results | grey_floor).items():
                psnr = np.mean([r["psnr"] for r in per_clip.values()])
                warp = np.mean([r["warp_error"] for r in per_clip.values()])
                chroma_warp = np.mean([r["chroma_warp_error"] for r in per_clip.values()])
                rel = ""
                if base and name != "per-frame":
                    ratios = [per_clip[c]["warp_error"] / base[c]["warp_error"] for c in per_clip]
                    chroma = [per_clip[c]["chroma_warp_error"] / base[c]["chroma_warp_error"] for c in per_clip]
                    dpsnr = psnr - np.mean([r["psnr"] for r in base.values()])
                    per = ", ".join(f"{100 * (1 - c):.0f}" for c in chroma)
                    rel = (
                        f"RGB {100 * (1 - np.mean(ratios)):.1f} % lower; chroma-only "
                        f"{100 * (1 - np.mean(chroma)):.1f} % lower (per clip {per}); PSNR {dpsnr:+.3f} dB"
                    )
                lines.append(f"| {name} | {psnr:.2f} | {1000 * warp:.3f} | {1000 * chroma_warp:.4f} | {rel} |")
        lines.append("")
        lines.append(
            "Speed, end to end (decode + colorize + encode) against decoding and re-encoding alone, same encoder "
            "settings and threads. CPU = time.process_time() of the whole process (all threads), which does not "
            "depend on how busy the machine is; frames/s and the wall-clock ratio do."
        )
        lines.append("")
        lines.append(
            "| clip | size | method | frames/s | d+e alone frames/s | × d+e (wall) | CPU ms/frame "
            "| d+e CPU ms/frame | × d+e (CPU) | load avg (1 min) |"
        )
        lines.append("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for clip_name, name, row in speed_rows:
            lines.append(
                f"| {clip_name} | {row['size']} | {name} | {row['fps']:.1f} | {row['floor_fps']:.1f} "
                f"| {row['ratio']:.2f} | {row['cpu_ms']:.1f} | {row['floor_cpu_ms']:.1f} | {row['cpu_ratio']:.2f} "
                f"| {row['load']:.1f} |"
            )
        for name, per_clip in results.items():
            rows = list(per_clip.values())
            frames = sum(r["frames"] for r in rows)
            wall = sum(r["frames"] / r["fps"] for r in rows)
            floor_wall = sum(r["frames"] / r["floor_fps"] for r in rows)
            cpu = sum(r["cpu_ms"] * r["frames"] for r in rows)
            floor_cpu = sum(r["floor_cpu_ms"] * r["frames"] for r in rows)
            lines.append(
                f"| **all** | | {name} | {frames / wall:.1f} | {frames / floor_wall:.1f} | {wall / floor_wall:.2f} "
                f"| {cpu / frames:.1f} | {floor_cpu / frames:.1f} | {cpu / floor_cpu:.2f} "
                f"| {np.mean([r['load'] for r in rows]):.1f} |"
            )
            print(lines[-1], flush=True)
        lines.append("")
        lines.append(f"load after quality/speed: `{uptime()}`")
        results.update(grey_floor)
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
