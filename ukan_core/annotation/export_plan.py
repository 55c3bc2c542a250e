"""Which files an export writes: the store's items grouped by source file, with unique file names.

Every format names its files after the source's stem, as `ukan segment` does:
- "png": `<stem>.png` for a single-frame image; `<stem>_<k>.png` (k = frame + 1, zero-padded to
  the frame count) for each saved frame of a multi-frame file;
- "nifti": one `<stem>.nii.gz` per source (`ct.nii.gz` keeps its name);
- "dicom-seg": one `<stem>_seg.dcm` per source.
When an earlier source already took a name (ignoring case: `scan.png`, `scan.jpg`), the later one's
stem gets its extension added (`scan_jpg`), then `_2`, `_3` ... Sources keep the order of the keys.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from ukan_core.annotation.formats import check_format
from ukan_core.annotation.keys import split_item_key


@dataclass(frozen=True)
class SourcePlan:
    """The saved items of one source file and the file names they are exported as.

    `frames` are (frame, item key) in frame order; `targets` are one name per frame for "png"
    and one name for the whole source otherwise; `renamed` is True when `stem` is not the source's
    own (another source had taken it).
    """

    file_name: str
    frames: tuple[tuple[int, str], ...]
    n_frames: int
    stem: str
    targets: tuple[str, ...]
    renamed: bool


def plan_sources(keys: Iterable[str], fmt: str = "png",
                 frame_counts: Mapping[str, int] | None = None) -> list[SourcePlan]:
    """Group item `keys` by source file and name the export files (see the module docstring).

    `frame_counts` gives the frames of each source file name; without it a file counts as many
    frames as its highest saved frame + 1 (1 for a file saved only at frame 0).
    """
    check_format(fmt)
    grouped: dict[str, dict[int, str]] = {}
    for key in keys:
        name, frame = split_item_key(key)
        grouped.setdefault(name, {})[frame] = key
    used: set[str] = set()
    plans = []
    for name, by_frame in grouped.items():
        frames = tuple(sorted(by_frame.items()))
        counted = (frame_counts or {}).get(name, 0)
        n_frames = max(counted, frames[-1][0] + 1)
        own = _own_stem(name, fmt)
        for stem in _candidates(name, own):
            stems = _stems(stem, fmt, frames, n_frames)
            if not any(s.lower() in used for s in stems):
                break
        used.update(s.lower() for s in stems)
        suffix = {"png": ".png", "nifti": ".nii.gz", "dicom-seg": ".dcm"}[fmt]
        plans.append(SourcePlan(name, frames, n_frames, stem, tuple(s + suffix for s in stems), stem != own))
    return plans


def export_names(names: Iterable[str], frame_counts: Mapping[str, int] | None = None) -> dict[str, str]:
    """The exported PNG file name of each item key, unique ignoring case (the rule of `ukan segment`)."""
    targets: dict[str, str] = {}
    for plan in plan_sources(names, "png", frame_counts):
        targets.update((key, target) for (_, key), target in zip(plan.frames, plan.targets))
    return targets


def renamed_exports(names: Iterable[str]) -> list[tuple[str, str]]:
    """(item key, exported PNG name) for the items whose source's stem was taken by another source."""
    return [(key, target) for plan in plan_sources(names, "png") if plan.renamed
            for (_, key), target in zip(plan.frames, plan.targets)]


def _own_stem(name: str, fmt: str) -> str:
    from ukan_core.io.volumes import is_volume_name, volume_stem

    return volume_stem(name) if fmt == "nifti" and is_volume_name(name) else Path(name).stem


def _candidates(name: str, own: str) -> Iterator[str]:
    """`own`, then `<stem>_<ext>`, then `<stem>_<ext>_2`, `_3` ... (the rule of `ukan segment`)."""
    from ukan_core.io.volumes import is_volume_name, volume_stem

    yield own
    if is_volume_name(name):
        base = f"{volume_stem(name)}_nii"
    else:
        base = f"{Path(name).stem}_{Path(name).suffix.lstrip('.').lower()}"
    yield base
    n = 2
    while True:
        yield f"{base}_{n}"
        n += 1


def _stems(stem: str, fmt: str, frames: tuple[tuple[int, str], ...], n_frames: int) -> list[str]:
    """The names (without extension) written for one source whose stem is `stem`."""
    if fmt == "dicom-seg":
        return [f"{stem}_seg"]
    if fmt == "nifti" or n_frames == 1:
        return [stem]
    width = len(str(n_frames))
    return [f"{stem}_{frame + 1:0{width}d}" for frame, _ in frames]
