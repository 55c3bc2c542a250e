"""`ukan eval`: score a model on a labelled folder (IoU and F1, pooled as the official and per image).

    ukan eval DATA --model M [--csv FILE] [--json] [--threshold T] [--device D]

With --json stdout is exactly one line, a JSON object: iou (pooled over all pixels, as the
official), iou_mean (mean over images), f1, f1_mean, n, threshold, model; the human summary
then goes to stderr, so `ukan eval ... --json | jq .` works.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from pathlib import Path

from ukan_core.device import DEVICE_CHOICES


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "eval",
        help="score a model on a labelled folder (IoU, F1)",
        description="Segment every labelled image and score it against its mask at full size.",
    )
    parser.add_argument("data", type=Path, metavar="DATA", help="labelled folder (images + masks)")
    parser.add_argument("--model", required=True, help="a model name, name/version or checkpoint file")
    parser.add_argument("--csv", type=Path, default=None, help="write per-image scores to this CSV file")
    parser.add_argument("--json", action="store_true",
                        help="print the scores as one JSON line on stdout (the summary goes to stderr)")
    parser.add_argument("--threshold", type=float, default=None,
                        help="probability threshold (default: the model's own, else 0.5)")
    parser.add_argument("--device", choices=DEVICE_CHOICES, default="auto")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ukan_core.atomic import atomic_write_text
    from ukan_core.data.folders import scan_labelled_folder
    from ukan_core.training.evaluate import evaluate

    pairs = scan_labelled_folder(args.data)
    report = evaluate(args.model, pairs, device=args.device, threshold=args.threshold)
    if args.csv is not None:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["id", "image", "iou", "f1"])
        for row in report.rows:
            writer.writerow([row.id, row.image, f"{row.iou:.6f}", f"{row.f1:.6f}"])
        atomic_write_text(args.csv, buffer.getvalue())
    print(f"{report.n} images: IoU {report.iou:.4f} (pooled, as the official) {report.iou_mean:.4f} "
          f"(mean per image); F1 {report.f1:.4f} (pooled) {report.f1_mean:.4f} (mean per image)",
          file=sys.stderr if args.json else sys.stdout)
    if args.json:
        print(json.dumps(report.to_dict()))
    return 0
