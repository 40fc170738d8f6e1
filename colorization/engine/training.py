"""The training loop shared by the base model and community fine-tuning.

Images come as RGB uint8 arrays (from a folder, or from accepted corrections);
each step takes random crops and flips, converts them to Lab, simulates user
hints from the ground truth, and trains both heads of ``ColorNet``.
Checkpoints are safetensors files that carry their network config, plus a
resumable training state loaded with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import random
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from .checkpoint import load_state_dict, save_checkpoint
from .color import rgb_to_lab
from .defaults import DEFAULT_BLEND, DEFAULT_DECODE, DEFAULT_GLOBAL_SHIFT
from .global_hints import simulate_global_hints
from .inference import apply_hints, decode_chroma
from .network import AB_SCALE, ColorNet, NetworkConfig, ab_to_bins, gaussian_smoothed_prior, rebalancing_weights
from .precision import PRECISIONS, autocast, resolve_precision

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".bmp"}
REGRESSION_LOSSES = ("smooth_l1", "mse", "log_mse")
# log_mse: c * log(1 + mse_i / eps) per image, averaged. Mean PSNR over photos is the mean of
# -10 log10(mse_i), so this weights each photo's error by 1 / (its own error + eps): a nearly neutral
# photo painted blue costs as much as it costs its PSNR. eps is a (1.1 ab unit)^2 floor; c keeps the
# gradient of a typical photo (mse ~0.01 in (ab / 110)^2 units) the size squared error gives it.
TRAINABLE = ("all", "global_hints")
# Branches a parent may lack: they are zero-initialised, so the grown network starts as its parent.
GROWABLE = {"global_context": "global_mlp.", "global_hints": "global_hint_mlp."}
LOG_MSE_EPS = 1e-4
LOG_MSE_SCALE = 0.01


@dataclass
class TrainConfig:
    crop: int = 128
    batch_size: int = 32
    lr: float = 2e-3
    weight_decay: float = 1e-4
    warmup_steps: int = 200
    steps: int | None = None  # stop after this many steps ...
    minutes: float | None = None  # ... or after this much wall time (whichever first)
    seed: int = 0
    short_side: int = 176  # images are cached at this short side, then cropped
    no_hint_fraction: float = 0.25
    max_hints: int = 80
    ce_weight: float = 1.0
    regression_weight: float = 10.0
    # "smooth_l1" (base v1: tracks the median chroma, keeps more colour), "mse" (tracks the mean:
    # what PSNR rewards) or "log_mse" (squared error weighted per photo as mean PSNR weighs it)
    regression_loss: str = "smooth_l1"
    rebalance_mix: float = 0.5
    # > 0: the written weights are an exponential moving average of the trained ones (BatchNorm
    # statistics included), with this decay per step (warmed up as min(decay, (1+t)/(10+t)))
    ema_decay: float = 0.0
    # "fp32", "bf16" (autocast of the network's forward and backward; weights, optimizer and losses
    # stay float32) or "auto" ($COLORIZE_PRECISION, else bf16 where the hardware computes it natively:
    # ~2x the steps); see precision.resolve_precision
    precision: str = "fp32"
    # share of crops given a global colour hint simulated from their own colours (networks with
    # the global-hint branch only)
    global_hint_fraction: float = 0.0
    # "all" or "global_hints": train only the global-hint branch, the rest frozen (in eval mode, so
    # BatchNorm statistics stay too): the grown network then colorizes a photo without a global
    # hint exactly as its parent did
    trainable: str = "all"
    # True: the regression loss is taken on the render (decoded as the colorizer decodes, after the
    # global hint's mean shift and the local hints' propagation, at the crop's resolution) instead of
    # on the regression head alone, so the network learns what the pipeline after it does
    render_loss: bool = False
    checkpoint_every_s: float = 300.0
    log_every_s: float = 30.0
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 0 <= self.ema_decay < 1:
            raise ValueError(f"ema_decay must be in [0, 1), got {self.ema_decay}")
        if self.regression_loss not in REGRESSION_LOSSES:
            choices = ", ".join(REGRESSION_LOSSES)
            raise ValueError(f"regression_loss must be one of {choices}, got {self.regression_loss!r}")
        if not 0 <= self.global_hint_fraction <= 1:
            raise ValueError(f"global_hint_fraction must be in [0, 1], got {self.global_hint_fraction}")
        if self.trainable not in TRAINABLE:
            raise ValueError(f"trainable must be one of {', '.join(TRAINABLE)}, got {self.trainable!r}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def find_images(folders: Sequence[str | Path]) -> list[Path]:
    paths: list[Path] = []
    for folder in folders:
        folder = Path(folder)
        if not folder.is_dir():
            raise FileNotFoundError(f"not a folder: {folder}")
        paths.extend(p for p in sorted(folder.rglob("*")) if p.suffix.lower() in IMAGE_SUFFIXES)
    return paths


def load_rgb(path: Path, short_side: int | None) -> np.ndarray:
    with Image.open(path) as im:
        im = im.convert("RGB")
        if short_side:
            scale = short_side / min(im.size)
            if scale < 1:
                im = im.resize(
                    (max(1, round(im.width * scale)), max(1, round(im.height * scale))), Image.Resampling.LANCZOS
                )
        return np.asarray(im, dtype=np.uint8).copy()


def load_folder(folders: Sequence[str | Path], short_side: int, cache: Path | None = None) -> list[np.ndarray]:
    """Load every image below ``folders`` at ``short_side``, caching the arrays in ``cache`` (.npz)."""
    paths = find_images(folders)
    key = json.dumps([str(p) for p in paths] + [short_side])
    if cache and cache.exists():
        with np.load(cache, allow_pickle=False) as data:
            if str(data["key"]) == key:
                return [data[f"i{n}"] for n in range(len(paths))]
    images = [load_rgb(p, short_side) for p in paths]
    if cache:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(".tmp.npz")
        np.savez(tmp, key=np.array(key), **{f"i{n}": im for n, im in enumerate(images)})
        os.replace(tmp, cache)
    return images


def simulate_hints(
    ab: torch.Tensor, counts: Sequence[int], generator: torch.Generator, patch_sizes: Sequence[int] | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Reveal ``counts[i]`` square patches of the true chroma of image i, as a user would.

    ab is (B,2,H,W). Each hint is the mean true ab over its patch (size
    ``patch_sizes[i]``, default 3), painted over the patch. Returns (hint_ab, mask).
    """
    b, _, h, w = ab.shape
    hint_ab = torch.zeros_like(ab)
    mask = torch.zeros((b, 1, h, w), dtype=ab.dtype, device=ab.device)
    for i, n in enumerate(counts):
        p = patch_sizes[i] if patch_sizes is not None else 3
        p = min(p, h, w)
        if n <= 0:
            continue
        ys = torch.randint(0, h - p + 1, (n,), generator=generator).tolist()
        xs = torch.randint(0, w - p + 1, (n,), generator=generator).tolist()
        for y, x in zip(ys, xs, strict=True):
            patch = ab[i, :, y : y + p, x : x + p]
            hint_ab[i, :, y : y + p, x : x + p] = patch.mean(dim=(1, 2), keepdim=True)
            mask[i, :, y : y + p, x : x + p] = 1
    return hint_ab, mask


def sample_hint_counts(batch: int, config: TrainConfig, rng: random.Random) -> list[int]:
    counts = []
    for _ in range(batch):
        r = rng.random()
        if r < config.no_hint_fraction:
            counts.append(0)
        elif r < config.no_hint_fraction + (1 - config.no_hint_fraction) / 2:
            # geometric, mean ~8: the few clicks most people make
            counts.append(min(config.max_hints, 1 + int(math.log(1 - rng.random()) / math.log(1 - 1 / 8))))
        else:
            counts.append(rng.randint(1, config.max_hints))
    return counts


class Batcher:
    """Random crops and flips of in-memory RGB images."""

    def __init__(self, images: Sequence[np.ndarray], crop: int, seed: int):
        self.images = [im for im in images if min(im.shape[:2]) >= 16]
        if not self.images:
            raise ValueError("no usable training images (all smaller than 16 px)")
        self.crop = crop
        self.rng = np.random.default_rng(seed)

    def __call__(self, batch_size: int) -> torch.Tensor:
        out = np.empty((batch_size, self.crop, self.crop, 3), dtype=np.uint8)
        for i in range(batch_size):
            im = self.images[self.rng.integers(len(self.images))]
            h, w = im.shape[:2]
            if min(h, w) < self.crop:  # small images are scaled up to the crop
                scale = self.crop / min(h, w)
                im = np.asarray(
                    Image.fromarray(im).resize((math.ceil(w * scale), math.ceil(h * scale)), Image.Resampling.BILINEAR)
                )
                h, w = im.shape[:2]
            y = self.rng.integers(h - self.crop + 1)
            x = self.rng.integers(w - self.crop + 1)
            c = im[y : y + self.crop, x : x + self.crop]
            out[i] = c[:, ::-1] if self.rng.random() < 0.5 else c
        return torch.from_numpy(out).permute(0, 3, 1, 2).float().div_(255)


def fit_long_side(images: Sequence[np.ndarray], side: int) -> list[np.ndarray]:
    """Scale each image so its long side is ``side``: fine-tuning then shows the network objects at
    the scale inference shows them (drafts work at a long side of ``render_size``)."""
    out = []
    for im in images:
        h, w = im.shape[:2]
        scale = side / max(h, w)
        if abs(scale - 1) < 1e-3:
            out.append(im)
            continue
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        resample = Image.Resampling.LANCZOS if scale < 1 else Image.Resampling.BICUBIC
        out.append(np.asarray(Image.fromarray(im).resize(size, resample), dtype=np.uint8).copy())
    return out


def class_weights_for(images: Sequence[np.ndarray], config: NetworkConfig, mix: float) -> torch.Tensor:
    """Class-rebalancing weights from the empirical ab distribution of ``images``."""
    counts = torch.zeros(config.n_bins)
    for im in images[:: max(1, len(images) // 1000)]:
        rgb = torch.from_numpy(np.ascontiguousarray(im[::4, ::4])).permute(2, 0, 1).float().div(255)
        ab = rgb_to_lab(rgb.unsqueeze(0))[:, 1:]
        counts += torch.bincount(ab_to_bins(ab, config).flatten(), minlength=config.n_bins).float()
    return rebalancing_weights(gaussian_smoothed_prior(counts, config), mix)


class WeightAverage:
    """An exponential moving average of a model's state (parameters and BatchNorm buffers).

    Late in a run the weights wander around a minimum with the noise of each small batch; their
    average sits nearer its centre, which is what the written checkpoint should hold.
    """

    def __init__(self, model: torch.nn.Module, decay: float):
        self.decay = decay
        self.state = {k: v.detach().clone() for k, v in model.state_dict().items()}

    @torch.no_grad()
    def update(self, model: torch.nn.Module, step: int) -> None:
        d = min(self.decay, (1 + step) / (10 + step))
        for k, v in model.state_dict().items():
            if v.is_floating_point():
                self.state[k].lerp_(v.detach(), 1 - d)
            else:
                self.state[k].copy_(v)

    def model_copy(self, model: ColorNet) -> ColorNet:
        """A copy of ``model`` holding the averaged weights (for writing a checkpoint)."""
        copy = ColorNet(model.config)
        copy.load_state_dict({k: v.to("cpu") for k, v in self.state.items()})
        return copy.eval()


def lr_at(progress: float, step: int, config: TrainConfig) -> float:
    warm = min(1.0, (step + 1) / max(1, config.warmup_steps))
    return config.lr * warm * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


def compute_loss(
    model: ColorNet,
    rgb: torch.Tensor,
    hint_counts: Sequence[int],
    generator: torch.Generator,
    weights,
    config,
    precision: str = "fp32",
) -> tuple[torch.Tensor, dict]:
    lab = rgb_to_lab(rgb)
    L, ab = lab[:, :1], lab[:, 1:]
    patch_sizes = torch.randint(1, 6, (len(hint_counts),), generator=generator).tolist()
    hint_ab, mask = simulate_hints(ab, hint_counts, generator, patch_sizes)
    global_hint = given = None
    fraction = getattr(config, "global_hint_fraction", 0.0)
    if model.config.global_hints and fraction > 0:
        global_hint, global_means = simulate_global_hints(ab, model.config, generator)
        given = (torch.rand(len(hint_counts), generator=generator) < fraction).tolist()
        global_hint = global_hint * torch.tensor(given, dtype=torch.float32, device=ab.device)[:, None]
    with autocast(rgb.device, precision):
        pred_ab, logits = model(ColorNet.make_input(L, hint_ab, mask), global_hint)
    pred_ab, logits = pred_ab.float(), logits.float()
    if getattr(config, "render_loss", False):
        decoded = decode_chroma(model, pred_ab, logits, DEFAULT_DECODE, DEFAULT_BLEND)
        rendered = []
        for i, count in enumerate(hint_counts):
            local = (L[i], hint_ab[i], mask[i]) if count else (None, None, None)
            mean = global_means[i] if given is not None and given[i] else None
            rendered.append(apply_hints(decoded[i], *local, mean, DEFAULT_GLOBAL_SHIFT))
        pred, target = torch.stack(rendered) / AB_SCALE, ab / AB_SCALE
    else:
        pred, target = pred_ab / AB_SCALE, F.avg_pool2d(ab, 2) / AB_SCALE
    if config.regression_loss == "mse":
        reg = F.mse_loss(pred, target)
    elif config.regression_loss == "log_mse":
        per_image = (pred - target).pow(2).mean(dim=(1, 2, 3))
        reg = LOG_MSE_SCALE * torch.log1p(per_image / LOG_MSE_EPS).mean()
    else:
        reg = F.smooth_l1_loss(pred, target, beta=5 / AB_SCALE)
    target_bins = ab_to_bins(F.avg_pool2d(ab, 4), model.config)
    ce = (F.cross_entropy(logits, target_bins, reduction="none") * weights[target_bins]).mean()
    loss = config.ce_weight * ce + config.regression_weight * reg
    return loss, {"loss": loss.item(), "ce": ce.item(), "reg": reg.item()}


def train(
    images: Sequence[np.ndarray],
    out: Path,
    config: TrainConfig,
    network_config: NetworkConfig | None = None,
    init_weights: Path | None = None,
    resume: bool = True,
    log: Callable[[str], None] = lambda s: print(s, file=sys.stderr, flush=True),
    metadata: dict | None = None,
    device: str | torch.device | None = None,
    heartbeat: Callable[[int, float], None] | None = None,
    on_checkpoint: Callable[[], None] | None = None,
) -> dict:
    """Train (or fine-tune from ``init_weights``) and write the checkpoint to ``out``.

    ``device``: "cpu" (default) or "cuda". ``heartbeat(step, progress)`` is called after every
    step (fine-tuning uses it to show progress and to prove its worker is alive). ``on_checkpoint()``
    is called after each periodic checkpoint is written (fine-tuning copies its staging to storage).

    Returns a summary with the loss curve. A ``<out>.state.pt`` next to the
    checkpoint makes the run resumable; it is removed when the run finishes.
    """
    torch.manual_seed(config.seed)
    rng = random.Random(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    state_path = out.with_name(out.name + ".state.pt")

    state = None
    if init_weights is not None:
        state, network_config, _ = load_state_dict(init_weights)
    network_config = network_config or NetworkConfig()
    grown = [name for name in GROWABLE if config.extra.get(name) and not getattr(network_config, name)]
    if grown:
        network_config = dataclasses.replace(network_config, **{name: True for name in grown})
    model = ColorNet(network_config)
    if state is not None:
        # A parent that gains a (zero-initialised) branch lacks only its weights and keeps all it
        # learnt; otherwise the weights must fit exactly.
        missing, unexpected = model.load_state_dict(state, strict=not grown)
        allowed = tuple(GROWABLE[name] for name in grown)
        if unexpected or any(not k.startswith(allowed) for k in missing):
            raise ValueError(
                f"{init_weights}: weights do not fit the network (missing {missing}, unexpected {unexpected})"
            )
    if config.trainable == "global_hints":
        if not network_config.global_hints:
            raise ValueError("trainable='global_hints' needs a network with the global-hint branch")
        for name, parameter in model.named_parameters():
            parameter.requires_grad_(name.startswith(GROWABLE["global_hints"]))
    device = torch.device(device or "cpu")
    model = model.to(device)
    if device.type == "cpu":
        model = model.to(memory_format=torch.channels_last)  # ~30% faster convolutions on CPU
    precision = resolve_precision(device, config.precision)
    weights = class_weights_for(images, model.config, config.rebalance_mix).to(device)
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=config.lr, weight_decay=config.weight_decay)
    step, elapsed_before, curve = 0, 0.0, []
    saved_average = None
    if resume and state_path.exists():
        state = torch.load(state_path, weights_only=True, map_location=device)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        saved_average = state.get("average")
        step, elapsed_before, curve = state["step"], state["elapsed"], [tuple(c) for c in state["curve"]]
        generator.manual_seed(config.seed + step)
        rng.seed(config.seed + step)
        log(f"resumed at step {step} ({elapsed_before / 60:.1f} min)")
    average = WeightAverage(model, config.ema_decay) if config.ema_decay else None
    if average is not None and saved_average:
        average.state = saved_average
    batcher = Batcher(images, config.crop, config.seed + step)

    def progress() -> float:
        fractions = []
        if config.steps:
            fractions.append(step / config.steps)
        if config.minutes:
            fractions.append((elapsed_before + time.monotonic() - start) / (config.minutes * 60))
        return max(fractions) if fractions else 1.0

    def save_state() -> None:
        tmp = state_path.with_suffix(".tmp")
        torch.save(
            {
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "step": step,
                "elapsed": elapsed_before + time.monotonic() - start,
                "curve": curve,
                **({"average": average.state} if average is not None else {}),
            },
            tmp,
        )
        os.replace(tmp, state_path)

    def written() -> ColorNet:
        return average.model_copy(model) if average is not None else model

    log(
        f"training {sum(p.numel() for p in trainable):,} of {model.num_parameters():,} parameters "
        f"on {len(batcher.images)} images ({device}, {precision}), "
        f"config {config.to_dict()}"
    )
    # A frozen trunk stays in eval mode: its BatchNorm layers keep the parent's statistics.
    model.train(config.trainable == "all")
    start = last_log = last_ckpt = time.monotonic()
    seen_since_log, running = 0, {}
    while progress() < 1.0:
        for group in optimizer.param_groups:
            group["lr"] = lr_at(progress(), step, config)
        rgb = batcher(config.batch_size).to(device)
        if device.type == "cpu":
            rgb = rgb.contiguous(memory_format=torch.channels_last)
        counts = sample_hint_counts(config.batch_size, config, rng)
        loss, parts = compute_loss(model, rgb, counts, generator, weights, config, precision)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trainable, 1.0)
        optimizer.step()
        step += 1
        if average is not None:
            average.update(model, step)
        seen_since_log += config.batch_size
        if heartbeat is not None:
            heartbeat(step, progress())
        for k, v in parts.items():
            running[k] = running.get(k, 0.0) + v
        now = time.monotonic()
        if now - last_log >= config.log_every_s or progress() >= 1.0:
            steps_in_window = max(1, round(seen_since_log / config.batch_size))
            means = {k: v / steps_in_window for k, v in running.items()}
            elapsed = elapsed_before + now - start
            curve.append((step, round(elapsed, 1), round(means["loss"], 5)))
            bar_len = 30
            filled = int(bar_len * min(1.0, progress()))
            log(
                f"[{'#' * filled}{'.' * (bar_len - filled)}] {100 * min(1.0, progress()):5.1f}% step {step} "
                f"loss {means['loss']:.4f} (ce {means['ce']:.3f} reg {means['reg']:.4f}) "
                f"{seen_since_log / (now - last_log):.1f} img/s lr {optimizer.param_groups[0]['lr']:.2e} "
                f"{elapsed / 60:.1f} min"
            )
            last_log, seen_since_log, running = now, 0, {}
        if now - last_ckpt >= config.checkpoint_every_s:
            save_state()
            save_checkpoint(written(), out, {"step": str(step), **(metadata or {})})
            if on_checkpoint is not None:
                on_checkpoint()
            last_ckpt = now

    model.eval()
    elapsed = elapsed_before + time.monotonic() - start
    summary = {
        "steps": step,
        "minutes": round(elapsed / 60, 2),
        "precision": precision,
        "curve": curve,
        "train_config": config.to_dict(),
    }
    save_checkpoint(written(), out, {"step": str(step), "summary": json.dumps(summary), **(metadata or {})})
    state_path.unlink(missing_ok=True)
    return summary


def add_config_arguments(parser) -> None:
    """The training options shared by this module's CLI and ``manage.py train_base``."""
    parser.add_argument("--minutes", type=float, help="wall-clock budget (the schedule follows it)")
    parser.add_argument("--steps", type=int, help="number of optimizer steps")
    parser.add_argument("--batch-size", type=int, default=TrainConfig.batch_size)
    parser.add_argument("--crop", type=int, default=TrainConfig.crop)
    parser.add_argument("--lr", type=float, default=TrainConfig.lr)
    parser.add_argument("--warmup-steps", type=int, default=TrainConfig.warmup_steps)
    parser.add_argument("--regression-loss", choices=REGRESSION_LOSSES, default=TrainConfig.regression_loss)
    parser.add_argument("--ce-weight", type=float, default=TrainConfig.ce_weight)
    parser.add_argument(
        "--ema-decay", type=float, default=TrainConfig.ema_decay, help="write a moving average of the weights (0: off)"
    )
    parser.add_argument(
        "--fit-long-side",
        type=int,
        help="scale every photo so its long side is N before cropping (the working resolution of inference)",
    )
    parser.add_argument("--init", type=Path, help="start from these weights (continue a model with new settings)")
    parser.add_argument(
        "--global-context",
        action="store_true",
        help="give the network a global branch (pooled whole-photo features); an --init model gains it at zero",
    )
    parser.add_argument(
        "--global-hints",
        action="store_true",
        help="give the network the global colour hint branch; an --init model gains it at zero",
    )
    parser.add_argument(
        "--global-hint-fraction",
        type=float,
        default=TrainConfig.global_hint_fraction,
        help="share of crops given a global hint simulated from their own colours",
    )
    parser.add_argument(
        "--trainable",
        choices=TRAINABLE,
        default=TrainConfig.trainable,
        help="global_hints: train only the global hint branch (the rest frozen)",
    )
    parser.add_argument(
        "--render-loss",
        action="store_true",
        help="take the regression loss on the render (decoded, global shift, local hints' propagation)",
    )
    parser.add_argument(
        "--precision",
        choices=PRECISIONS,
        default=TrainConfig.precision,
        help="bf16: the network in bfloat16 autocast (~2x faster where the hardware has it); auto: bf16 where it does",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, help="CPU threads (default: torch's choice)")
    parser.add_argument("--cache", type=Path, help="an .npz file to cache the decoded images in")


def config_from_arguments(args) -> TrainConfig:
    extra = {"fit_long_side": args.fit_long_side} if args.fit_long_side else {}
    if args.init:
        extra["init"] = str(args.init)
    if args.global_context:
        extra["global_context"] = True
    if args.global_hints:
        extra["global_hints"] = True
    return TrainConfig(
        minutes=args.minutes,
        steps=args.steps,
        batch_size=args.batch_size,
        crop=args.crop,
        lr=args.lr,
        warmup_steps=args.warmup_steps,
        regression_loss=args.regression_loss,
        ce_weight=args.ce_weight,
        ema_decay=args.ema_decay,
        precision=args.precision,
        global_hint_fraction=args.global_hint_fraction,
        trainable=args.trainable,
        render_loss=args.render_loss,
        seed=args.seed,
        extra=extra,
    )


def load_training_images(folders: Sequence[str | Path], config: TrainConfig, cache: Path | None) -> list[np.ndarray]:
    images = load_folder(folders, config.short_side, cache)
    side = config.extra.get("fit_long_side")
    return fit_long_side(images, side) if side else images


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m colorization.engine.training --images DIR [DIR ...] --out FILE [--minutes N | --steps N]``."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--images", nargs="+", required=True)
    parser.add_argument("--out", type=Path, required=True)
    add_config_arguments(parser)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    config = config_from_arguments(args)
    if not (config.minutes or config.steps):
        parser.error("give --minutes or --steps")
    t0 = time.monotonic()
    images = load_training_images(args.images, config, args.cache)
    print(f"loaded {len(images)} images in {time.monotonic() - t0:.0f} s", file=sys.stderr, flush=True)
    summary = train(images, args.out, config, init_weights=args.init, metadata={"trained_on": json.dumps(args.images)})
    print(json.dumps({k: v for k, v in summary.items() if k != "curve"}))


if __name__ == "__main__":
    main()
