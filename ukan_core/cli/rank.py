"""`ukan rank`: the images of a folder from most to least uncertain (which to correct first), and whether
the folder looks like the model's training data.

    ukan rank DATA [--model M] [--json] [--score entropy|flip] [--device D]

DATA is a folder of images, labelled (images/ + masks/) or not. The model defaults to the one
the folder's annotation store records, else the bundled default. With --json stdout is exactly
one line: {"images": [{"name", "uncertainty"}, ...], "out_of_domain": bool, "domain_score": float}
(domain_score is null for a model saved without training statistics). Human lines go to stderr;
each unreadable image gets one line there. Exit codes: 0 all ranked, 1 some images could not be
read, 2 usage or input errors.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    from ukan_core.domain import THRESHOLD
    from ukan_core.uncertainty import DEFAULT_SCORE, SCORES

    parser = subparsers.add_parser(
        "rank",
        help="rank a folder's images from most to least uncertain, and flag an out-of-domain folder",
        description="Rank the images of DATA by how unsure the model is about them (0 = sure, 1 = unsure): "
                    "correct the top ones first. Also says whether the folder looks unlike the model's "
                    f"training data (out of domain: domain score >= {THRESHOLD}).",
    )
    parser.add_argument("data", type=Path, metavar="DATA", help="folder of images (labelled or not)")
    parser.add_argument("--model", default=None,
                        help="a name, name/version or checkpoint file (default: the folder's own model, "
                             "else the bundled model)")
    parser.add_argument("--json", action="store_true", help="print one JSON line on stdout (human lines go to stderr)")
    parser.add_argument("--score", choices=SCORES, default=DEFAULT_SCORE,
                        help=f"uncertainty score (default {DEFAULT_SCORE})")
    parser.add_argument("--device", default="auto", help="cpu, cuda, mps or auto (default)")
    parser.set_defaults(func=run)


def folder_images(data: Path) -> tuple[list[Path], list[str]]:
    """(image files of DATA, problem lines): DATA/images/ for a labelled folder, else DATA itself."""
    from ukan_core.data.folders import pairs_layout, scan_labelled_folder
    from ukan_core.io.listing import list_images

    if pairs_layout(data) == "busi-flat":   # images and their _mask files side by side (a store or not)
        return [pair.image for pair in scan_labelled_folder(data, "busi-flat")], []
    listing = list_images([data / "images" if (data / "images").is_dir() else data])
    return listing.images, listing.problems


def run(args: argparse.Namespace) -> int:
    from ukan_core.domain import THRESHOLD, domain_score
    from ukan_core.errors import UkanError
    from ukan_core.inference import Segmenter
    from ukan_core.model_refs import DEFAULT_MODEL
    from ukan_core.io.images import read_image
    from ukan_core.io.names import display_name
    from ukan_core.lineage import folder_model
    from ukan_core.uncertainty import image_uncertainty

    data: Path = args.data
    if not data.is_dir():
        raise UkanError(f"{display_name(data)}: not a folder; give the folder of images to rank")
    images, problems = folder_images(data)
    for line in problems:
        print(f"error: {line}", file=sys.stderr)
    if not images:
        raise UkanError(f"{display_name(data)}: no images found to rank")
    model_ref = args.model or folder_model(data) or DEFAULT_MODEL
    print(f"ranking {len(images)} images of {display_name(data)} with {model_ref} ...", file=sys.stderr, flush=True)
    segmenter = Segmenter.from_name_or_path(model_ref, device=args.device)
    ranked: list[tuple[str, float]] = []
    readable = []
    failed = len(problems)
    for path in images:
        name = path.relative_to(data).as_posix() if path.is_relative_to(data) else path.name
        try:
            image = read_image(path)
            score = image_uncertainty(segmenter, image, score=args.score).score
        except (UkanError, OSError, ValueError) as exc:
            line = str(exc) if display_name(path) in str(exc) else f"{display_name(path)}: {exc}"
            print(f"error: {line}", file=sys.stderr)
            failed += 1
            continue
        readable.append(image)
        ranked.append((name, round(float(score), 4)))
    ranked.sort(key=lambda item: (-item[1], item[0]))
    distance = domain_score(segmenter, readable) if readable else None
    out_of_domain = distance is not None and distance >= THRESHOLD
    if args.json:
        print(json.dumps({"images": [{"name": n, "uncertainty": u} for n, u in ranked],
                          "out_of_domain": out_of_domain,
                          "domain_score": None if distance is None else round(distance, 4)}))
    else:
        for name, score in ranked:
            print(f"{score:.3f}  {name}")
    if distance is None:
        print(f"{model_ref} has no training statistics: the out-of-domain check is not available "
              f"(retrain or fine-tune it to add them)", file=sys.stderr)
    elif out_of_domain:
        print(f"warning: these images look unlike {model_ref}'s training data (domain score {distance:.2f} >= "
              f"{THRESHOLD}); expect poor masks until you correct a few and retrain", file=sys.stderr)
    else:
        print(f"domain score {distance:.2f}: like the training data", file=sys.stderr)
    print(f"ranked {len(ranked)} images, {failed} failed", file=sys.stderr)
    return 1 if failed else 0
