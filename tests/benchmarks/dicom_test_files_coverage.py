"""How many of the DICOM files bundled with pydicom `read_image` opens, and why the rest do not.

    python tests/benchmarks/dicom_test_files_coverage.py            # summary and the files that fail
    python tests/benchmarks/dicom_test_files_coverage.py --all      # every file with its result

The folder is pydicom's installed `data/test_files`, walked with os.walk (pydicom's own
`get_testdata_files` would try to download more files). A file counts as a DICOM file when it is
named `*.dcm` or has no extension (DICOMDIR and the scanner-style files of `dicomdirtests/`),
READMEs aside. Run by hand; it measures, it asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from pathlib import Path


def dicom_test_files() -> list[Path]:
    """Every DICOM file of pydicom's installed test data, sorted by relative path."""
    import pydicom

    root = Path(pydicom.__file__).parent / "data" / "test_files"
    found = []
    for folder, _, names in os.walk(root):
        for name in names:
            path = Path(folder) / name
            if path.suffix.lower() in ("", ".dcm") and not name.upper().startswith("README"):
                found.append(path)
    return sorted(found, key=lambda p: p.relative_to(root).as_posix())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--all", action="store_true", help="print every file, not only those that fail")
    args = parser.parse_args(argv)
    from ukan_core.io.images import read_image

    files = dicom_test_files()
    root = files[0].parent if files else Path(".")
    while root.name != "test_files" and root != root.parent:
        root = root.parent
    opened, reasons = 0, Counter()
    for path in files:
        try:
            image = read_image(path)
        except Exception as exc:  # any failure is counted with its one line
            message = str(exc).split(": ", 1)[-1]
            reasons[message] += 1
            print(f"FAIL  {path.relative_to(root)}: {message}")
        else:
            opened += 1
            if args.all:
                print(f"ok    {path.relative_to(root)}: {image.pixels.shape} {image.pixels.dtype}")
    print(f"\n{opened} of {len(files)} DICOM files open")
    for message, count in reasons.most_common():
        print(f"{count:4d}  {message}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
