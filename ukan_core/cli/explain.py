"""`ukan explain`: which KAN channels outline the lesion in one image, as heatmaps and a score table.

    ukan explain IMAGE --out DIR [--mask MASK] [--model NAME_OR_PATH] [--layer L ...] [--top K]
                 [--threshold T] [--splines] [--device D]

Writes into DIR, per layer (default `dblock2.0`, the highest-resolution KAN block; `--layer all`
for every KAN layer and block): `<layer>_top<r>_ch<c>.png` for the K channels with the best
Plausibility IoU (heatmap blended over the image), `<layer>_aggregate_top<K>.png` (mean of those
K channels), `<layer>_aggregate_mean.png` and `_max.png` (over all channels), and one
`scores.csv` with a row per channel: `layer,channel,plausibility_iou,best_iou,threshold,reference`.
`threshold` is where the threshold-free `best_iou` peaked; `plausibility_iou` uses --threshold.
The reference is --mask (ground truth) when given, else the image's corrected mask from the
UKAN Studio annotation store of its folder, else the model's own prediction. `--splines` also
plots the learned edge functions of the chosen layers' KANLinear modules. Every file is written
atomically.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from ukan_core.errors import UkanError

DEFAULT_LAYER = "dblock2.0"
SPLINE_EDGES = 8   # learned functions plotted per KAN layer with --splines


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "explain",
        help="heatmaps of the KAN channels that best outline the lesion, with Plausibility IoU scores",
        description="Rank a U-KAN's tokenized-KAN channels by Plausibility IoU on one image; write the "
                    "top heatmaps, aggregates and scores.csv into --out.",
    )
    parser.add_argument("image", type=Path, metavar="IMAGE", help="the image to explain")
    parser.add_argument("--out", required=True, type=Path, help="folder for the heatmaps and scores.csv")
    parser.add_argument("--mask", type=Path, default=None,
                        help="ground-truth mask (non-zero = foreground); default: the corrected mask of the "
                             "Studio annotation store, else the model's prediction")
    parser.add_argument("--model", default=None, metavar="NAME_OR_PATH",
                        help="a store or bundled model name, a .safetensors or an official .pth file "
                             "(default: the bundled model)")
    parser.add_argument("--layer", action="append", default=None, metavar="L",
                        help=f"layer to explain, e.g. dblock2.0, block1.fc2, or 'all' (default {DEFAULT_LAYER}); "
                             "repeat for several")
    parser.add_argument("--top", type=int, default=5, metavar="K", help="heatmaps per layer (default 5)")
    parser.add_argument("--threshold", type=float, default=0.5,
                        help="activation threshold of the Plausibility IoU, in (0, 1] (default 0.5)")
    parser.add_argument("--alpha", type=float, default=0.5, help="heatmap opacity over the image (default 0.5)")
    parser.add_argument("--splines", action="store_true", help="also plot the learned KAN edge functions")
    parser.add_argument("--device", default="auto", help="auto (default), cuda, cuda:N, mps or cpu")
    parser.add_argument("--compare-mlp", default=None, metavar="NAME_OR_PATH",
                        help="an MLP-ablation model (no_kan) trained on the same data: rank its channels against "
                        "the same reference and write comparison.csv side by side (the paper's Fig. 4)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.top < 1:
        raise UkanError(f"--top must be at least 1, got {args.top}")
    if not 0.0 < args.threshold <= 1.0:
        raise UkanError(f"--threshold must be in (0, 1], got {args.threshold}")
    if not 0.0 <= args.alpha <= 1.0:
        raise UkanError(f"--alpha must be between 0 and 1, got {args.alpha}")
    out: Path = args.out
    if out.exists() and not out.is_dir():
        raise UkanError(f"{out.name}: --out must be a folder, and this is a file")

    from ukan_core.device import pick_device
    from ukan_core.explain import explain_image, layer_names, read_reference, resolve_layer, write_scores_csv
    from ukan_core.model_refs import load_model_with_info
    from ukan_core.io.images import read_image, to_rgb8

    image_path: Path = args.image
    rgb = to_rgb8(read_image(image_path))   # one line for a missing file, a folder, a FIFO, a bad image
    ground_truth = read_reference(args.mask, rgb.shape[:2], image_path.name) if args.mask else None
    corrected = None if ground_truth is not None else _corrected_mask(image_path, rgb.shape[:2])

    model, info = load_model_with_info(args.model or _default_model(), device="cpu")
    if getattr(model, "architecture", None) != "ukan":
        raise UkanError(f"{_model_label(args.model, info)}: not a segmentation U-KAN; explain needs one")
    model = model.to(pick_device(args.device))
    wanted = args.layer or [DEFAULT_LAYER]
    layers = layer_names(model) if "all" in wanted else list(dict.fromkeys(resolve_layer(model, n) for n in wanted))

    try:
        explanation = explain_image(model, rgb, preprocessing=info.get("preprocessing"), layers=layers,
                                    ground_truth=ground_truth, corrected=corrected, threshold=args.threshold,
                                    spline_edges=SPLINE_EDGES if args.splines else 0)
    except ValueError as exc:
        raise UkanError(f"{image_path.name}: {exc}") from None
    out.mkdir(parents=True, exist_ok=True)
    written = _write_heatmaps(explanation, rgb, out, args.top, args.alpha)
    write_scores_csv(explanation, out / "scores.csv")
    if args.splines:
        written += _write_splines(explanation, out)
    comparisons = _compare_mlp(args, model, info, rgb, explanation, layers, out) if args.compare_mlp else []

    print(f"reference: {explanation.reference_kind}"
          + (f" ({args.mask.name})" if ground_truth is not None else ""))
    for layer in layers:
        best = explanation.scores[layer].scores[0]
        print(f"{layer}: best channel {best.channel}, PIoU {best.plausibility_iou:.3f} "
              f"(best IoU {best.best_iou:.3f} at {best.threshold:.2f})")
    for comparison in comparisons:
        summary = comparison.summary(args.top)
        print(f"{comparison.layer} KAN vs MLP: top-{args.top} mean PIoU {summary[f'kan_top{args.top}_piou']:.3f} vs "
              f"{summary[f'mlp_top{args.top}_piou']:.3f}, all channels {summary['kan_mean_piou']:.3f} vs "
              f"{summary['mlp_mean_piou']:.3f}")
    print(f"wrote {written} images and scores.csv{' and comparison.csv' if comparisons else ''} -> {out}")
    return 0


def _compare_mlp(args: argparse.Namespace, model: Any, info: dict[str, Any], rgb: np.ndarray,
                 explanation: Any, layers: list[str], out: Path) -> list[Any]:
    """Rank the same layers of the MLP twin against the reference the KAN model was scored on."""
    from ukan_core.device import pick_device
    from ukan_core.explain import compare_kan_mlp, write_comparison_csv
    from ukan_core.model_refs import load_model_with_info

    mlp, mlp_info = load_model_with_info(args.compare_mlp, device="cpu")
    if getattr(mlp, "architecture", None) != "ukan" or not getattr(mlp.config, "no_kan", False):
        raise UkanError(f"{_model_label(args.compare_mlp, mlp_info)}: not an MLP-ablation U-KAN (no_kan=True)")
    mlp = mlp.to(pick_device(args.device))
    reference = explanation.reference.astype(np.uint8)
    comparisons = [
        compare_kan_mlp(model, mlp, [rgb], [reference], layer=layer, kind=explanation.reference_kind,
                        kan_preprocessing=info.get("preprocessing"), mlp_preprocessing=mlp_info.get("preprocessing"),
                        threshold=args.threshold)
        for layer in layers
    ]
    write_comparison_csv(comparisons, explanation.reference_kind, out / "comparison.csv")
    return comparisons


def _write_heatmaps(explanation: Any, rgb: np.ndarray, out: Path, top: int, alpha: float) -> int:
    from ukan_core.explain import blend, write_png

    count = 0
    for layer in explanation.layers:
        for rank, (score, heat) in enumerate(explanation.top_heatmaps(layer, top), start=1):
            write_png(out / f"{layer}_top{rank}_ch{score.channel:03d}.png", blend(rgb, heat, alpha))
            count += 1
        k = min(top, len(explanation.scores[layer].scores))
        for name, heat in ((f"top{k}", explanation.aggregate(layer, "topk", k)),
                           ("mean", explanation.aggregate(layer, "mean")),
                           ("max", explanation.aggregate(layer, "max"))):
            write_png(out / f"{layer}_aggregate_{name}.png", blend(rgb, heat, alpha))
            count += 1
    return count


def _write_splines(explanation: Any, out: Path) -> int:
    """One plot per KANLinear among (or inside) the chosen layers; none for an MLP model."""
    from ukan_core.explain import plot_edge_functions

    for name, edges in explanation.splines.items():
        plot_edge_functions(edges, out / f"{name}_splines.png", title=f"{name}: {len(edges)} strongest edges φ(x)")
    return len(explanation.splines)


def _corrected_mask(image_path: Path, size: tuple[int, int]) -> np.ndarray | None:
    """The image's corrected mask from its folder's Studio annotation store, if there is one."""
    from ukan_core.annotation import INDEX_FILE, STORE_FOLDER, AnnotationStore, fallback_location
    from ukan_core.errors import StoreError

    folder = image_path.parent
    if not any((place / INDEX_FILE).is_file() for place in (folder / STORE_FOLDER, fallback_location(folder))):
        return None  # never create a store just to look
    try:
        store = AnnotationStore.open(folder)
        if store.status(image_path.name) != "corrected":
            return None
        mask = store.mask(image_path.name)
    except (StoreError, UkanError, OSError):
        return None
    return mask if mask is not None and mask.shape == tuple(size) else None


def _default_model() -> str:
    from ukan_core.model_refs import DEFAULT_MODEL
    from ukan_core.store import ModelStore

    if DEFAULT_MODEL not in ModelStore().names():
        raise UkanError("no bundled model found; pass --model NAME_OR_PATH")
    return DEFAULT_MODEL


def _model_label(ref: str | None, info: dict[str, Any]) -> str:
    return str(info.get("name") or (Path(ref).name if ref else "model"))
