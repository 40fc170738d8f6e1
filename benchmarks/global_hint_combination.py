"""How a global colour hint and local hints are best combined: candidate rules, measured side by side.

    python benchmarks/global_hint_combination.py [--sets era-val sun-scenes] [--limit N] [--hints 0 10 50]
                                                 [--conditions reference palette5 tint wrong] [--threads N]
                                                 [--hint-blend B] [--out FILE]

Each photo is made grey and run through the network once per global hint (and once without), at each
local hint count (3×3 patches of the truth, seeded by file name as ``evaluate_model`` makes them);
the candidate rules below then turn that one network output into chroma, and each is reconstructed
at full resolution and scored (PSNR against the colour original). Only the step after the network
differs between rules, so their differences are the rules' alone.

Rules (``p`` is the network's chroma, ``t`` the hint's mean colour, ``c`` the local hints' confidence
from the residual propagation, 0 far from every hint and 1 at a hinted pixel):

* ``net``: the network alone, then the local hints' propagation;
* ``shift_before``: p's mean moved to t, then the propagation (the rule base v5 shipped with);
* ``mean_after``: the propagation first, then a shift weighted by (1 - c), sized so that the
  output's mean is t: the hint sets the colours where the local hints have little say;
* ``shift_both``: ``shift_before`` then ``mean_after``'s correction;
* ``uniform_after``: ``shift_before``, then the output's mean moved to t by one uniform shift;
* ``uniform_keep``: the same, the hinted pixels kept (the others move a little further);
* ``uniform_only``: the propagation of the network alone, then the uniform shift;
* ``free_S`` (S = 0.05, 0.1, 0.2): ``uniform_keep``'s shift times 1 - exp(-mean(1 - c) / S), so
  that dense local hints (50: mean(1 - c) ~ 0.003) keep the last word while a few (10: ~ 0.2) get
  nearly the whole shift; ``free_0.1`` is what the colorizer does (``GLOBAL_HINT_FREE_SCALE``);
* ``fine_free_0.1``: ``free_0.1`` with the propagation's widest scale left out (local hints reach less
  far when a global hint sets the rest); ``k4_free_0.1`` / ``k16_free_0.1``: the propagation's confidence
  needs 4 / 16 times the hint density;
* ``cov_after``: ``shift_both`` plus, where (1 - c), a linear map of ab that gives the output the
  covariance of the hint's colours (Monge-Kantorovich), then the mean correction again;
* ``cov_after_half``: the same with the map half-way between the identity and the full one;
* ``reweight``: the classification head's distribution at each pixel multiplied by the hint's
  distribution over the bins, its annealed mean instead of the decoded chroma, then
  ``shift_before``; ``reweight_half``: half-way between the two.

Measured (``benchmarks/results/global_hint_combination-v5.txt``): with the propagation's confidence
at ~0.8 after 10 clicks, spreading the correction only where (1 - c) over-corrects those few places
(``mean_after``); a uniform shift after the propagation is what helps, and ``free_0.1`` keeps nearly
all of its gain at 10 hints while a wrong reference at 50 hints costs about 1 dB, not 6-9.

Validation sets (choosing): ``era-val`` is the Prokudin-Gorskii photos outside the fine-tuning
benchmark's test split (never used to train a base model), ``sun-scenes`` the base's SUN training
scenes. The benchmark sets of ``global_hints.py`` (bsds-val, urban100, sun-hays, era-test) can be
named too, to report on them.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from global_hints import hint_maker  # noqa: E402

from colorization.engine.global_hints import GlobalHint  # noqa: E402
from colorization.engine.hints import HintRaster  # noqa: E402
from colorization.engine.imageio import LumaImage, rgb_to_lightness_u8  # noqa: E402
from colorization.engine.inference import DEFAULT_MODEL_PATH, DEFAULT_RENDER_SIZE, Colorizer, decode_chroma  # noqa: E402
from colorization.engine.metrics import _lab, load_truth, psnr, simulate_eval_hints  # noqa: E402
from colorization.engine.propagation import (  # noqa: E402
    PROPAGATION_KAPPA,
    PROPAGATION_SCALES,
    propagate_with_confidence,
)
from colorization.engine.reconstruction import chroma_model, reconstruct  # noqa: E402
from colorization.engine.training import find_images  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
RULES = (
    "net",
    "shift_before",
    "mean_after",
    "shift_both",
    "uniform_after",
    "uniform_keep",
    "uniform_only",
    "free_0.05",
    "free_0.1",
    "free_0.2",
    "fine_free_0.1",
    "k4_free_0.1",
    "k16_free_0.1",
    "cov_after",
    "cov_after_half",
    "reweight",
    "reweight_half",
)
MIN_FREE = 0.1  # the mean correction never divides by less than this share of unhinted influence


def set_paths(name: str) -> list[Path]:
    from community_finetune import DATA as ERA
    from community_finetune import outer_split

    if name == "era-val":
        return [p for p in find_images([ERA]) if outer_split(p.name) != "test"]
    if name == "era-test":
        return [p for p in find_images([ERA]) if outer_split(p.name) == "test"]
    if name == "sun-scenes":
        return find_images([DATA / "train" / "sun-scenes"])
    return find_images([DATA / "val" / name])


def spread_sample(paths: list[Path], limit: int | None) -> list[Path]:
    """``limit`` photos spread evenly over the name order (a set's classes are grouped by name)."""
    if not limit or limit >= len(paths):
        return paths
    return [paths[int(i * len(paths) / limit)] for i in range(limit)]


def hint_stats(hint: GlobalHint) -> tuple[torch.Tensor, torch.Tensor]:
    """The hint's colours' weighted mean (2,) and covariance (2,2)."""
    ab = torch.tensor(hint.ab, dtype=torch.float64) * hint.saturation
    w = torch.tensor(hint.weights, dtype=torch.float64)
    mu = (w[:, None] * ab).sum(0)
    d = ab - mu
    return mu, (w[:, None, None] * d[:, :, None] * d[:, None, :]).sum(0)


def _sqrtm(m: torch.Tensor) -> torch.Tensor:
    vals, vecs = torch.linalg.eigh(m)
    return vecs @ torch.diag(vals.clamp(min=0).sqrt()) @ vecs.T


def mk_map(cov_src: torch.Tensor, cov_dst: torch.Tensor) -> torch.Tensor:
    """The linear Monge-Kantorovich map taking covariance cov_src to cov_dst (2,2)."""
    src = cov_src + torch.eye(2, dtype=cov_src.dtype)
    s_half = _sqrtm(src)
    s_inv_half = torch.linalg.inv(s_half)
    return s_inv_half @ _sqrtm(s_half @ cov_dst @ s_half) @ s_inv_half


def mean_correction(p: torch.Tensor, free: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """p (2,h,w) + free * d, with d chosen so that the result's mean is ``target``."""
    d = (target[:, None, None] - p.mean(dim=(1, 2), keepdim=True)) / max(float(free.mean()), MIN_FREE)
    return p + free * d


def reweighted_ab(colorizer: Colorizer, logits: torch.Tensor, hint: GlobalHint, size: tuple[int, int]) -> torch.Tensor:
    """The classification head's distribution at each pixel times the hint's distribution over the
    bins, its annealed mean brought to the working grid (2,H,W) (padded)."""
    model = colorizer.model
    dist = hint.vector(model.config)[: model.config.n_bins].to(logits)
    probs = torch.softmax(logits / model.config.temperature + torch.log(dist + 1e-4)[None, :, None, None], dim=1)
    ab = torch.einsum("bqhw,qc->bchw", probs, model.bin_centers.to(probs))
    return torch.nn.functional.interpolate(ab, size=size, mode="bilinear", align_corners=False)[0]


def apply_rule(rule: str, ab: torch.Tensor, job, hint: GlobalHint | None, reweighted=None) -> torch.Tensor:
    scales, kappa = None, None
    if rule.startswith("fine_"):  # without the widest scale: local hints reach less far
        rule, scales = rule[5:], PROPAGATION_SCALES[:-1]
    elif rule.startswith(("k4_", "k16_")):  # local hints trusted less far from them
        factor, rule = rule[1:].split("_", 1)
        kappa = PROPAGATION_KAPPA * float(factor)

    def propagate(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if not job.has_hints:
            return x, torch.zeros_like(job.mask)
        return propagate_with_confidence(x, job.L, job.hint_ab, job.mask, scales=scales, kappa=kappa)

    if rule == "net":
        return propagate(ab)[0]
    mu_t, cov_t = hint_stats(hint)
    target = mu_t.float()
    shifted = ab + (target[:, None, None] - ab.mean(dim=(1, 2), keepdim=True))
    if rule == "shift_before":
        return propagate(shifted)[0]
    if rule.startswith("reweight"):
        rw = reweighted() if rule == "reweight" else torch.lerp(ab, reweighted(), 0.5)
        return propagate(rw + (target[:, None, None] - rw.mean(dim=(1, 2), keepdim=True)))[0]
    if rule == "uniform_only":
        p = propagate(ab)[0]
        return p + (target[:, None, None] - p.mean(dim=(1, 2), keepdim=True))
    if rule.startswith("free_"):
        p, c = propagate(shifted)
        strength = 1 - np.exp(-float((1 - c).mean()) / float(rule[5:]))
        return mean_correction(p, 1 - job.mask, target + (1 - strength) * (p.mean(dim=(1, 2)) - target))
    if rule == "uniform_keep":
        return mean_correction(propagate(shifted)[0], 1 - job.mask, target)
    if rule == "uniform_after":
        p = propagate(shifted)[0]
        return p + (target[:, None, None] - p.mean(dim=(1, 2), keepdim=True))
    if rule == "mean_after":
        p, c = propagate(ab)
        return mean_correction(p, 1 - c, target)
    p, c = propagate(shifted)
    free = 1 - c
    p = mean_correction(p, free, target)
    if rule == "shift_both":
        return p
    alpha = 1.0 if rule == "cov_after" else 0.5
    flat = p.reshape(2, -1).double()
    mu_p = flat.mean(1)
    cov_p = torch.cov(flat)
    T = (1 - alpha) * torch.eye(2, dtype=torch.float64) + alpha * mk_map(cov_p, cov_t)
    mapped = (T @ (flat - mu_p[:, None]) + mu_p[:, None]).float().reshape(p.shape)
    p = p + free * (mapped - p)
    return mean_correction(p, free, target)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL_PATH)
    parser.add_argument("--sets", nargs="+", default=["era-val", "sun-scenes"])
    parser.add_argument("--limit", type=int, default=40)
    parser.add_argument("--hints", nargs="+", type=int, default=[0, 10, 50])
    parser.add_argument("--conditions", nargs="+", default=["reference", "palette5", "tint", "wrong"])
    parser.add_argument("--rules", nargs="+", default=list(RULES), choices=RULES)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--hint-blend", type=float, help="the annealed mean's weight when a global hint is given (default: as without)"
    )
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    colorizer = Colorizer.load(args.model, "cpu")
    report: dict = {"model_sha256": colorizer.sha256, "limit": args.limit, "sets": {}}
    start = time.monotonic()
    for name in args.sets:
        paths = spread_sample(set_paths(name), args.limit)
        truths = {p.name: load_truth(p) for p in paths}
        names = sorted(truths)
        makers = {c: hint_maker(c, truths, names) for c in args.conditions}
        scores: dict[str, list[float]] = {}
        for i, n in enumerate(names):
            if i:
                done = {key: round(float(np.mean(v)), 3) for key, v in scores.items()}
                print(f"{name} {i}/{len(names)} ({time.monotonic() - start:.0f} s): {json.dumps(done)}", flush=True)
            truth = truths[n]
            L = rgb_to_lightness_u8(truth)
            image = LumaImage(L)
            ab_true = np.moveaxis(_lab(truth)[..., 1:], -1, 0)
            for k in args.hints:
                raster = simulate_eval_hints(ab_true, k, zlib.crc32(n.encode()) + k) if k else None
                cases = [("none", None)] + [(c, makers[c](n, truth)) for c in args.conditions]
                for condition, hint in cases:
                    if raster is None:
                        empty = np.zeros((2, *L.shape), np.float32), np.zeros((1, *L.shape), np.float32)
                        given = HintRaster(*empty, hint) if hint is not None else None
                    else:
                        given = dataclasses.replace(raster, global_hint=hint)
                    job = colorizer._job(image, given, DEFAULT_RENDER_SIZE)
                    ab_half, logits = colorizer._forward([job])
                    blend = colorizer.blend if hint is None or args.hint_blend is None else args.hint_blend
                    ab_pad = decode_chroma(colorizer.model, ab_half, logits, colorizer.decode, blend)
                    ab = ab_pad[0, :, : job.h, : job.w]

                    def reweighted(hint=hint, logits=logits, ab_pad=ab_pad, job=job):
                        return reweighted_ab(colorizer, logits, hint, ab_pad.shape[-2:])[:, : job.h, : job.w]

                    rules = ["net"] if hint is None else args.rules
                    for rule in rules:
                        out_ab = apply_rule(rule, ab, job, hint, reweighted)
                        rgb = reconstruct(L, chroma_model(out_ab, job.L), colorizer.device)
                        scores.setdefault(f"{condition}/{rule}/{k}", []).append(psnr(rgb, truth))
        table = {key: round(float(np.mean(v)), 4) for key, v in scores.items()}
        report["sets"][name] = {"photos": len(names), "psnr": table}
        print(f"\n{name}: {len(names)} photos ({time.monotonic() - start:.0f} s)")
        print(f"{'condition/rule':<28}" + "".join(f"{'gain ' + str(k):>10}" for k in args.hints))
        for condition in args.conditions:
            for rule in args.rules:
                cells = "".join(
                    f"{table[f'{condition}/{rule}/{k}'] - table[f'none/net/{k}']:>+10.2f}" for k in args.hints
                )
                print(f"{condition + '/' + rule:<28}{cells}")
        print("none PSNR: " + "  ".join(f"{k}: {table[f'none/net/{k}']:.2f}" for k in args.hints), flush=True)
    report["seconds"] = round(time.monotonic() - start, 1)
    if args.out:
        args.out.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
