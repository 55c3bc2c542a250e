"""What the trust scores add to Segment all. Run by hand:

    python tests/benchmarks/bench_segment_trust.py [--n 16] [--style default]

Runs the Studio's SegmentWorker (bundled model, CPU) on `n` synthetic images without and with the
uncertainty and domain scores, and prints the time to the last mask and the whole job side by side.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def run(folder: Path, measure: bool) -> tuple[float, float]:
    from ukan_studio.workers.segment import SegmentWorker

    items = [(p.name, p) for p in sorted(folder.glob("*.png"))]
    worker = SegmentWorker(items, "ukan-synthetic-us", "cpu", measure=measure)
    stamps: list[float] = []
    worker.result.connect(lambda *_: stamps.append(time.perf_counter()))
    start = time.perf_counter()
    worker.run()
    return stamps[-1] - start, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=16)
    parser.add_argument("--style", default="default")
    args = parser.parse_args()
    from ukan_core.data.synthetic import write_synthetic_dataset

    with tempfile.TemporaryDirectory() as tmp:
        write_synthetic_dataset(tmp, args.n, seed=5, style=args.style)
        folder = Path(tmp) / "images"
        run(folder, False)   # warm-up: the model load is cached
        plain_masks, plain_job = run(folder, False)
        trust_masks, trust_job = run(folder, True)
    print(f"{args.n} images      last mask   whole job")
    print(f"masks only      {plain_masks:8.2f} s  {plain_job:8.2f} s")
    print(f"with scores     {trust_masks:8.2f} s  {trust_job:8.2f} s")
    print(f"ratio           {trust_masks / plain_masks:8.2f}    {trust_job / plain_job:8.2f}")


if __name__ == "__main__":
    main()
