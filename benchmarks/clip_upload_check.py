"""How long a clip upload's check holds the request: decoding every frame (``probe``, before) against
demuxing every packet and decoding only the ends (``check``, now). Issue 19.

    .venv/bin/python benchmarks/clip_upload_check.py CLIP [CLIP ...] [--repeat 3]

Prints, per clip, the best of ``--repeat`` runs of each, the frame counts each found and the load
average (the machine is shared: say so with the figures).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from colorization.engine.video import check, probe


def best(fn, path: Path, repeat: int) -> tuple[float, int]:
    times, frames = [], 0
    for _ in range(repeat):
        started = time.perf_counter()
        frames = fn(path).frames
        times.append(time.perf_counter() - started)
    return min(times), frames


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("clips", nargs="+", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    for path in args.clips:
        full, full_frames = best(lambda p: probe(p, decode=True), path, args.repeat)
        cheap, cheap_frames = best(check, path, args.repeat)
        print(
            f"{path.name}: {path.stat().st_size / 1e6:.1f} MB; decode all (before) {full:.2f} s, "
            f"{full_frames} frames; check (now) {cheap:.3f} s, {cheap_frames} frames; "
            f"{full / cheap:.0f}x less; load average {os.getloadavg()[0]:.2f}"
        )


if __name__ == "__main__":
    main()
