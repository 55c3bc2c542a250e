"""`ukan finetune`: fine-tune a trained model on a folder of corrected masks; report before/after.

    ukan finetune DATA [--from VERSION_OR_PATH] [--budget-min M] [--out FILE] [--name NAME]

DATA is any labelled layout, or a folder annotated in the Studio (its corrected masks are
used). The base (default: the bundled default model) is never modified. Every run adds the new
model to the model store as a new version (--out also writes it to a file); it becomes the
selected version only if it scores better than the base on held-out corrections.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ukan_core.cli.train import ProgressPrinter, add_training_options, format_seconds, recipe_from_args


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "finetune",
        help="fine-tune a model on corrected masks and compare it with the base",
        description="Fine-tune a copy of a trained model on corrected masks; the base is never changed. "
                    "Every run adds a store version, selected only if it beats the base on held-out corrections.",
    )
    parser.add_argument("data", type=Path, metavar="DATA", help="labelled folder or Studio-annotated folder")
    parser.add_argument("--from", dest="base", default=None,
                        help="base model: a name, name/version or checkpoint file (default: the bundled model)")
    parser.add_argument("--dry-run", action="store_true", help="measure only; write no model")
    add_training_options(parser)
    parser.set_defaults(func=run)


def corrected_pairs(folder: Path) -> list:
    """The Studio's corrected pairs of `folder` when it has an annotation store, else its labelled pairs."""
    from ukan_core.data import folders

    studio = getattr(folders, "studio_corrected_pairs", None)
    if studio is not None and (folder / ".ukan-studio").is_dir():
        pairs = studio(folder)
        if pairs:
            return list(pairs)
    return list(folders.scan_labelled_folder(folder))


def run(args: argparse.Namespace) -> int:
    from ukan_core.model_refs import DEFAULT_MODEL
    from ukan_core.training.finetune import finetune
    from ukan_core.training.recipes import FINETUNE

    from ukan_core.store import check_model_name

    if args.name is not None:
        check_model_name(args.name)  # before any work
    recipe = recipe_from_args(FINETUNE, args)
    pairs = corrected_pairs(args.data)
    base = args.base or DEFAULT_MODEL
    print(f"fine-tuning {base} on {len(pairs)} corrected images from {args.data.name}", file=sys.stderr, flush=True)
    report = finetune(
        base, pairs, recipe=recipe, name=args.name, progress=ProgressPrinter(),
        budget_s=args.budget_min * 60 if args.budget_min else None, device=args.device, seed=args.seed,
        out=args.out, save=not args.dry_run,
    )
    b, n = report.base_metrics, report.new_metrics
    how = f"{report.folds}-fold" if report.folds > 1 else f"{report.n_val} held out"
    print(f"held-out corrections ({how}, n={n['n']}): IoU {b['iou']:.4f} -> {n['iou']:.4f} (pooled), "
          f"{b['iou_mean']:.4f} -> {n['iou_mean']:.4f} (mean per image); F1 {b['f1']:.4f} -> {n['f1']:.4f}")
    print(f"{report.steps} steps in {format_seconds(report.seconds)} ({report.stopped}); "
          f"{'better' if report.improved else 'not better'} than the base")
    if report.path is not None:
        print(f"saved {report.path}")
    if report.version is not None:
        ref = getattr(report.version, "ref", report.version)
        print(f"added to the model store: {ref}")
        if report.selected:
            print(f"selected {ref}")
        else:
            print(f"not selected: keep using {report.base} (ukan models select {ref} to use the new one anyway)")
    return 0
