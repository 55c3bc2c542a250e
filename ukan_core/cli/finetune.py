"""`ukan finetune`: fine-tune a trained model on a folder of corrected masks; report before/after.

    ukan finetune DATA [--from VERSION_OR_PATH] [--budget-min M] [--out FILE] [--name NAME]

DATA is any labelled layout, or a folder annotated in the Studio (its corrected masks are
used). The base (default: the folder's own model for a Studio folder, else the bundled default
model) is never modified. Every run adds the new model to the model store as a new version
(--out also writes it to a file): a Studio folder's runs go to its own lineage (`<folder>-<hash>`,
see `ukan_core.lineage`). It becomes the selected version, and the folder's model, only for a
clear gain on held-out corrections (see `ukan_core.training.report.clear_gain`).
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
                    "Every run adds a store version (a Studio folder's own lineage), selected only for a clear "
                    "gain on held-out corrections (k-fold when there are few).",
    )
    parser.add_argument("data", type=Path, metavar="DATA", help="labelled folder or Studio-annotated folder")
    parser.add_argument("--from", dest="base", default=None,
                        help="base model: a name, name/version or checkpoint file (default: a Studio folder's "
                             "own model, else the bundled model)")
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


def is_studio_folder(folder: Path) -> bool:
    """True when `folder` was annotated in the Studio (it then has its own model lineage)."""
    from ukan_core.data.folders import detect_layout
    from ukan_core.errors import DatasetError

    try:
        return detect_layout(folder) == "studio"
    except DatasetError:
        return False


def run(args: argparse.Namespace) -> int:
    from ukan_core.model_refs import DEFAULT_MODEL
    from ukan_core.lineage import finetune_folder, folder_model, lineage_display, project_lineage
    from ukan_core.training.finetune import finetune
    from ukan_core.training.recipes import FINETUNE
    from ukan_core.training.report import report_lines

    from ukan_core.store import check_model_name

    if args.name is not None:
        check_model_name(args.name)  # before any work
    recipe = recipe_from_args(FINETUNE, args)
    pairs = corrected_pairs(args.data)
    project = is_studio_folder(args.data)
    base = args.base or (folder_model(args.data) if project else None) or DEFAULT_MODEL
    into = f" into {lineage_display(args.name or project_lineage(args.data))}" if project else ""
    print(f"fine-tuning {base} on {len(pairs)} corrected images from {args.data.name}{into}",
          file=sys.stderr, flush=True)
    options = dict(recipe=recipe, name=args.name, progress=ProgressPrinter(),
                   budget_s=args.budget_min * 60 if args.budget_min else None, device=args.device, seed=args.seed,
                   out=args.out, save=not args.dry_run)
    report = finetune_folder(args.data, pairs, base=base, **options) if project else finetune(base, pairs, **options)
    for line in report_lines(report):
        print(line)
    b, n = report.base_metrics, report.new_metrics
    how = f"{report.folds}-fold" if report.folds > 1 else f"{report.n_val} held out"
    print(f"held-out corrections ({how}, n={n['n']}): IoU {b['iou']:.4f} -> {n['iou']:.4f} (pooled), "
          f"{b['iou_mean']:.4f} -> {n['iou_mean']:.4f} (mean per image); {report.steps} steps in "
          f"{format_seconds(report.seconds)}")
    if report.path is not None:
        print(f"saved {report.path}")
    if report.version is not None:
        ref = getattr(report.version, "ref", report.version)
        print(f"added to the model store: {ref}")
        if report.selected:
            print(f"selected {ref}" + (f"; {args.data.name} now uses {lineage_display(ref)}" if project else ""))
        else:
            print(f"not selected: keep using {report.base} (ukan models select {ref} to use the new one anyway)")
    return 0
