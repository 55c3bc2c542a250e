"""Benchmark: export a Studio folder in each format, with classes.json and measurements.csv (run by hand).

    python tests/benchmarks/bench_export.py [--images 200] [--size 512] [--regions 5]

Builds a temporary folder of `--images` PNG images (`--size` pixels square), saves a label mask
with `--regions` lesions per image in the annotation store, and times `export_store_masks` as
png (binary), png (labels) and nifti, printing seconds per export and milliseconds per image; the
part spent on the measurements (`measure_mask` of every mask) is printed on its own.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from ukan_core.annotation import AnnotationStore, export_store_masks  # noqa: E402
from ukan_core.measure import measure_mask  # noqa: E402


def build_folder(root: Path, images: int, size: int, regions: int) -> tuple[Path, list[str]]:
    """A folder of grey PNGs whose store holds a mask with `regions` discs of labels 1 and 2 each."""
    folder = root / "scans"
    folder.mkdir()
    rng = np.random.default_rng(0)
    names = [f"case{i:04d}.png" for i in range(images)]
    store = AnnotationStore.open(folder, writer=True)
    store.set_classes(["background", "lesion", "cyst"])
    for name in names:
        cv2.imwrite(str(folder / name), rng.integers(0, 255, (size, size), np.uint8))
        mask = np.zeros((size, size), np.uint8)
        for k in range(regions):
            centre = tuple(int(v) for v in rng.integers(size // 8, size - size // 8, 2))
            cv2.circle(mask, centre, int(rng.integers(4, size // 10)), 1 + k % 2, -1)
        store.save_mask(name, mask, "corrected", write_index=False)
    store.save_index()
    store.close()
    return folder, names


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--regions", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder, names = build_folder(Path(tmp), args.images, args.size, args.regions)
        store = AnnotationStore.open(folder)
        masks = [store.mask(name) for name in names]
        start = time.perf_counter()
        for mask in masks:
            measure_mask(mask)
        measuring = time.perf_counter() - start
        print(f"measurements alone: {measuring:.2f} s ({1000 * measuring / len(names):.1f} ms per image)")
        for label, options in (("png binary", {"mode": "binary"}), ("png labels", {"mode": "labels"}),
                               ("nifti", {"format": "nifti"})):
            out = Path(tmp) / label.replace(" ", "-")
            start = time.perf_counter()
            written = export_store_masks(store, names, out, **options)
            seconds = time.perf_counter() - start
            print(f"{label:>10}: {len(written)} files in {seconds:.2f} s ({1000 * seconds / len(names):.1f} ms "
                  f"per image)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
