"""`ukan train`: train a segmentation U-KAN from scratch on a labelled folder.

    ukan train DATA --config ukan [--recipe paper] [--epochs N] [--budget-min M] [--size 256]
                    [--batch-size B] [--out FILE] [--name NAME] [--device D] [--seed S]
    torchrun --nproc_per_node=N -m ukan_core.cli.main train DATA ...     (DistributedDataParallel)

DATA is any layout `scan_labelled_folder` detects. The recipe's split (80/20, seed 2981 for
the paper) chooses the validation images; the best weights by validation IoU are saved to
`--out` (a .safetensors) and/or the model store as a new version of `--name` (default: the
folder's name when no --out is given). Progress goes to stderr; the summary to stdout.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from ukan_core.device import DEVICE_CHOICES
from ukan_core.models.registry import NAMED_CONFIGS

CONFIG_NAMES = tuple(NAMED_CONFIGS)
RECIPE_NAMES = ("paper", "finetune")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train a segmentation U-KAN on a labelled folder",
        description="Train a segmentation U-KAN (paper recipe by default) and save the best weights.",
    )
    parser.add_argument("data", type=Path, metavar="DATA", help="labelled folder (images + masks)")
    add_training_options(parser)
    parser.add_argument("--config", choices=CONFIG_NAMES, default="ukan",
                        help="model size: ukan-s (small), ukan (paper, default), ukan-l (large)")
    parser.add_argument("--recipe", choices=RECIPE_NAMES, default="paper", help="training recipe (default paper)")
    parser.add_argument("--size", type=int, default=None, help="network input size, a multiple of 32 (default 256)")
    parser.add_argument("--preprocessing", choices=("standard", "official"), default="standard",
                        help="input normalisation: standard (RGB, ImageNet) or official (BGR, /255 twice)")
    parser.add_argument("--val-fraction", type=float, default=None, help="share held out for validation (0.2)")
    parser.add_argument("--num-classes", type=int, default=1, help="output channels (default 1)")
    parser.set_defaults(func=run)


def add_training_options(parser: argparse.ArgumentParser) -> None:
    """Options shared by `train` and `finetune`."""
    parser.add_argument("--epochs", type=int, default=None, help="passes over the training images")
    parser.add_argument("--max-steps", type=int, default=None, help="stop after this many steps")
    parser.add_argument("--budget-min", type=float, default=None, help="wall-clock budget in minutes")
    parser.add_argument("--batch-size", type=int, default=None, help="images per step (per process under DDP)")
    parser.add_argument("--lr", type=float, default=None, help="learning rate of non-KAN weights")
    parser.add_argument("--kan-lr", type=float, default=None, help="learning rate of KAN weights")
    parser.add_argument("--out", type=Path, default=None, help="write the model to this .safetensors file")
    parser.add_argument("--name", default=None, help="add the model to the store as a new version of NAME")
    parser.add_argument("--device", choices=DEVICE_CHOICES, default="auto")
    parser.add_argument("--seed", type=int, default=0, help="same seed, same weights on the CPU (default 0)")


def recipe_from_args(base: Any, args: argparse.Namespace) -> Any:
    """`base` with the command-line overrides applied."""
    import dataclasses

    overrides = {
        "epochs": args.epochs, "max_steps": args.max_steps, "batch_size": args.batch_size,
        "lr": args.lr, "kan_lr": args.kan_lr, "val_fraction": getattr(args, "val_fraction", None),
    }
    size = getattr(args, "size", None)
    if size:
        overrides["input_size"] = (size, size)
    return dataclasses.replace(base, **{k: v for k, v in overrides.items() if v is not None})


class ProgressPrinter:
    """Prints a progress line to stderr at most every `every_s` seconds, and every validation."""

    def __init__(self, every_s: float = 10.0, enabled: bool = True) -> None:
        self.every_s = every_s
        self.enabled = enabled
        self.last = 0.0
        self.last_val: Any = None

    def __call__(self, p: Any) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        val = p.extra.get("val_iou")
        new_val = val is not None and val != self.last_val
        if now - self.last < self.every_s and not new_val and p.done != p.total:
            return
        self.last, self.last_val = now, val
        line = p.message
        if val is not None:
            line += f" | val IoU {val:.4f} F1 {p.extra.get('val_f1') or 0:.4f}"
        eta = p.extra.get("eta_s")
        if eta is not None:
            line += f" | eta {format_seconds(eta)}"
        print(line, file=sys.stderr, flush=True)


def format_seconds(seconds: float) -> str:
    """12s, 3m05s, 2h04m."""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{(seconds % 3600) // 60:02d}m"


def run(args: argparse.Namespace) -> int:
    from ukan_core.data.folders import scan_labelled_folder, split_pairs
    from ukan_core.errors import UkanError
    from ukan_core.models.registry import NAMED_CONFIGS, build_model
    from ukan_core.preprocess import Preprocessing
    from ukan_core.training import distributed as ddp
    from ukan_core.training.publish import save_trained
    from ukan_core.training.recipes import recipe_by_name
    from ukan_core.training.trainer import fit

    from ukan_core.store import check_model_name

    if args.name is not None:
        check_model_name(args.name)  # before any work, not after hours of training
    recipe = recipe_from_args(recipe_by_name(args.recipe), args)
    try:
        preprocessing = Preprocessing(mode=args.preprocessing, fit="resize", input_size=recipe.input_size)
    except ValueError as exc:
        raise UkanError(f"--size: {exc}") from None
    pairs = scan_labelled_folder(args.data)
    train_pairs, val_pairs = split_pairs(pairs, val_fraction=recipe.val_fraction, seed=recipe.split_seed)
    name = args.name or (None if args.out else store_name(args.data))

    ctx = ddp.context_from_env(args.device)
    main_rank = ctx is None or ctx.is_main
    try:
        import dataclasses

        import torch

        torch.manual_seed(args.seed)
        config = dataclasses.replace(NAMED_CONFIGS[args.config], num_classes=args.num_classes)
        model = build_model("ukan", config)
        if main_rank:
            print(f"training {args.config} on {len(train_pairs)} images, validating on {len(val_pairs)} "
                  f"({args.data.name}, recipe {recipe.name}, {recipe.input_size[0]}x{recipe.input_size[1]})",
                  file=sys.stderr, flush=True)
        result = fit(
            model, train_pairs, val_pairs, recipe, preprocessing=preprocessing, device=args.device,
            progress=ProgressPrinter(enabled=main_rank),
            budget_s=args.budget_min * 60 if args.budget_min else None, seed=args.seed, distributed=ctx,
        )
        if not main_rank:
            return 0
        path, version = save_trained(
            model, result, recipe=recipe, preprocessing=preprocessing, pairs=train_pairs + val_pairs,
            n_train=len(train_pairs), n_val=len(val_pairs), data=args.data, out=args.out, name=name,
            seed=args.seed, parent=None,
        )
    finally:
        ddp.barrier(ctx)
        ddp.shutdown(ctx)
    print(summary_line(result, len(train_pairs), len(val_pairs)))
    if path is not None:
        print(f"saved {path}")
    if version is not None:
        print(f"added to the model store: {getattr(version, 'ref', version)}")
    return 0


def store_name(folder: Path) -> str:
    """A valid model-store name from a folder's name (letters, digits, '.', '_', '-')."""
    from ukan_core.store import valid_model_name

    return valid_model_name(folder.resolve().name)


def summary_line(result: Any, n_train: int, n_val: int) -> str:
    """One line: steps, time, why it stopped, best validation scores."""
    head = (f"trained {result.steps} steps ({result.epochs:.1f} epochs, {format_seconds(result.seconds)}, "
            f"{result.stopped}) on {n_train} images")
    m = result.metrics
    if not m:
        return head + "; no validation images, kept the last weights"
    return (f"{head}; best at step {result.best_step}: val IoU {m['val_iou']:.4f} (pooled) "
            f"{m['val_iou_mean']:.4f} (mean per image), F1 {m['val_f1']:.4f} (pooled) "
            f"{m['val_f1_mean']:.4f} (mean), n={m['val_n']}")
