"""What Retrain takes from a folder's annotations: an image the user corrected and its saved mask."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ukan_core.annotation.keys import display_item


@dataclass(frozen=True)
class CorrectedItem:
    """One image the user corrected, with the saved mask that goes with it.

    Shaped like `ukan_core.data.folders.Pair` (image, mask, id, frame), so training code takes
    either. `name` is the store's item key; `frame` (0-based) is the frame of `image` it masks.
    """

    image: Path
    mask: Path
    name: str
    frame: int = 0

    @property
    def id(self) -> str:
        """Unique within the folder: the file name (`scan.png` and `scan.jpg` are two images), with
        ` [frame k]` for a later frame of a multi-frame file."""
        return display_item(self.name)
