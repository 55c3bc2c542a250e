"""`ukan train-generator`: train a Diffusion U-KAN on an image folder or on image + mask pairs.

    ukan train-generator DATA --out gen.safetensors [--pairs] [--steps N | --epochs N] [--budget-min M]
                        [--ch 64 --ch-mult 1,2,3,4 --embed-dims 256,320,512 --num-res-blocks 2]
                        [--init GEN.safetensors] [--half]

The official recipe (see ukan_core.diffusion.train) plus an EMA. The training state is saved
beside the output (`<out>.state.safetensors`) every few hundred steps, on Ctrl-C and at the end;
`--resume` continues from it; `--init` instead starts a new run (fresh optimizer, warm-up and
cosine) from the weights of an existing generator, to train it further. The EMA model is
written to `--out` (`--half`: as float16) and, with `--name`, added to the model store as a new
version.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path

from ukan_core.device import DEVICE_CHOICES
from ukan_core.errors import Cancelled, UkanError
from ukan_core.progress import CancelToken, Progress


def _ints(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train-generator",
        help="train a Diffusion U-KAN image (or image + mask) generator",
        description="Train a Diffusion U-KAN on a folder of images (unconditional, as the paper) or on "
                    "image + mask pairs (--pairs: the mask becomes an extra channel).",
    )
    parser.add_argument("data", type=Path, help="image folder, or a labelled folder with --pairs")
    parser.add_argument("--out", required=True, type=Path, help="the trained generator (.safetensors)")
    parser.add_argument("--pairs", action="store_true", help="learn image + mask pairs")
    parser.add_argument("--grey", action="store_true", help="one grey channel instead of RGB")
    parser.add_argument("--steps", type=int, default=None, help="optimizer steps (default: --epochs)")
    parser.add_argument("--epochs", type=int, default=None, help="passes over the data (default 1000, as the official)")
    parser.add_argument("--budget-min", type=float, default=None, help="stop cleanly after this many minutes")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=2e-4)
    parser.add_argument("--ema-decay", type=float, default=0.999)
    parser.add_argument("--loss", choices=("official", "mean"), default="official",
                        help="official: squared error summed / 1000; mean: MSE")
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--ch", type=int, default=64, help="base width (official 64)")
    parser.add_argument("--ch-mult", type=_ints, default=(1, 2, 3, 4), help="width multipliers per level")
    parser.add_argument("--num-res-blocks", type=int, default=2)
    parser.add_argument("--embed-dims", type=_ints, default=None,
                        help="KAN widths (default: ch*ch_mult[-1] and 1.25x, 2x of it, as 256,320,512)")
    parser.add_argument("--dropout", type=float, default=0.15)
    parser.add_argument("--resume", type=Path, default=None, help="continue from a saved training state")
    parser.add_argument("--init", type=Path, default=None,
                        help="start from this generator's weights and configuration (train it further); "
                             "the architecture options are then ignored")
    parser.add_argument("--half", action="store_true", help="store the weights as float16 (half the file size)")
    parser.add_argument("--name", default=None, help="also add the generator to the model store under this name")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", choices=DEVICE_CHOICES, default="auto")
    parser.set_defaults(func=run)


def default_embed_dims(ch: int, ch_mult: tuple[int, ...]) -> tuple[int, int, int]:
    """The official proportions (256, 320, 512 at ch=64), widths rounded up to multiples of 32."""
    e0 = ch * ch_mult[-1]
    return e0, -(-e0 * 5 // 4 // 32) * 32, -(-e0 * 2 // 32) * 32


def run(args: argparse.Namespace) -> int:
    from ukan_core.diffusion.train import fit_diffusion
    from ukan_core.diffusion.train_state import load_training_state
    from ukan_core.io.checkpoints import save_checkpoint
    from ukan_core.models.configs import DiffusionUKANConfig
    from ukan_core.models.registry import build_model

    state_path = args.out.with_name(args.out.stem + ".state.safetensors")
    init_info: dict = {}
    if args.resume and args.init:
        raise UkanError("--resume and --init exclude each other: a state already holds the weights")
    if args.init:
        from ukan_core.io.checkpoints import load_checkpoint

        model, init_info = load_checkpoint(args.init)
        if init_info.get("architecture") != "diffusion_ukan":
            raise UkanError(f"{args.init.name}: not a Diffusion U-KAN generator "
                            f"(architecture {init_info.get('architecture')!r})")
        pairs = bool(init_info.get("pairs"))
        if args.pairs and not pairs:
            raise UkanError(f"{args.init.name}: this generator makes images only; --pairs needs a pairs generator")
    elif args.resume:
        meta = load_training_state(args.resume)[1]
        if not meta.get("config"):
            raise UkanError(f"{args.resume.name}: the training state does not record the model configuration")
        model = build_model("diffusion_ukan", meta["config"])
        pairs = bool(meta.get("pairs"))
    else:
        pairs = args.pairs
        channels = (1 if args.grey else 3) + (1 if pairs else 0)
        try:
            config = DiffusionUKANConfig(
                ch=args.ch, ch_mult=args.ch_mult, num_res_blocks=args.num_res_blocks, dropout=args.dropout,
                embed_dims=args.embed_dims or default_embed_dims(args.ch, args.ch_mult),
                image_size=args.image_size, in_channels=channels)
            model = build_model("diffusion_ukan", config)
        except ValueError as exc:
            raise UkanError(f"generator configuration: {exc}") from None

    token = CancelToken()
    previous = signal.signal(signal.SIGINT, lambda *_: token.cancel())
    reporter = _Reporter()
    try:
        result = fit_diffusion(
            model, args.data, steps=args.steps, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
            ema_decay=args.ema_decay, loss=args.loss, pairs=pairs, device=args.device, progress=reporter,
            cancel=token, budget_s=args.budget_min * 60 if args.budget_min else None, seed=args.seed,
            resume_from=args.resume, state_path=state_path, name=args.name)
    except Cancelled:
        reporter.close()
        print(f"cancelled; the training state is in {state_path} (continue with --resume {state_path})", file=sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGINT, previous)
        reporter.close()
    metadata = {**result.metadata, "name": args.name or args.out.stem}
    if args.init:
        previous = init_info.get("training") or {}
        metadata["parent"] = init_info.get("name") or args.init.stem
        metadata["training"] = {**metadata["training"], "init_from": args.init.name,
                                "steps_before": previous.get("steps_before", 0) + int(previous.get("steps") or 0)}
    save_checkpoint(result.model, args.out, metadata, half=args.half)
    stored = f", store version {args.name}/{getattr(result.version, 'version', result.version)}" if result.version else ""
    print(f"wrote {args.out}: {result.steps_done}/{result.total_steps} steps ({result.stopped}) in "
          f"{result.time_s / 60:.1f} min, final loss {result.losses[-1]:.4g}{stored}; state {state_path}")
    return 0


class _Reporter:
    """A tqdm bar on a terminal; otherwise a progress line every 30 s (and at the end)."""

    def __init__(self) -> None:
        self._bar = None
        self._last = 0.0
        self._tty = sys.stderr.isatty()

    def __call__(self, p: Progress) -> None:
        if self._tty:
            if self._bar is None:
                from tqdm import tqdm

                self._bar = tqdm(total=p.total, initial=p.done - 1, unit="step", desc="training generator")
            self._bar.update(p.done - self._bar.n)
            self._bar.set_postfix(loss=f"{p.extra.get('loss', 0.0):.4g}")
        elif time.monotonic() - self._last > 30 or p.done == p.total:
            self._last = time.monotonic()
            eta = p.extra.get("eta_s", 0.0)
            print(f"step {p.done}/{p.total} loss {p.extra.get('loss', 0.0):.4g} lr {p.extra.get('lr', 0.0):.2e} "
                  f"eta {eta / 60:.1f} min", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
