"""`ukan synth`: write a synthetic, ultrasound-like labelled dataset (for demos and tests, not clinical)."""

from __future__ import annotations

import argparse
import sys
import time

# The names of `ukan_core.data.synthetic.STYLES` (not imported here: the CLI starts without cv2).
STYLE_NAMES = ("default", "alt", "inverted")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "synth",
        help="write synthetic ultrasound-like images with exact masks (not clinical data)",
        description="Write N procedurally generated ultrasound-like images and their exact lesion masks in "
        "the official layout (DIR/images/case_0000.png, DIR/masks/0/case_0000.png). Deterministic by "
        "seed. For demos, tests and the bundled model: this is not clinical data.",
    )
    parser.add_argument("--n", type=int, required=True, help="number of images")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--size", type=int, default=256, help="image size in pixels (default 256)")
    parser.add_argument("--style", default="default", choices=STYLE_NAMES,
                        help="imaging domain: 'alt' changes speckle, contrast, lesions and field of view; "
                        "'inverted' is a linear probe with finer speckle, rounder lesions and inverted grey levels")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ukan_core.data.synthetic import write_synthetic_dataset

    if args.n < 1 or args.size < 32:
        print("error: --n must be at least 1 and --size at least 32", file=sys.stderr)
        return 2
    start = time.perf_counter()
    write_synthetic_dataset(args.out, args.n, seed=args.seed, size=args.size, style=args.style)
    print(f"wrote {args.n} synthetic images and masks to {args.out} in {time.perf_counter() - start:.1f} s")
    return 0
