"""Decoding the current image off the GUI thread, and the neighbours before they are asked for.

A 12-megapixel PNG takes a quarter to most of a second to decode; on the GUI thread that froze
the window at every switch. Large files are decoded here, on one pool thread (the others are
left to the model and the window); small ones (a few milliseconds) are still decoded at once by
the session, so a switch between them never shows "loading…". Decoded images are kept in a
small cache (the current image and its neighbours), so going back and forth decodes nothing.

A result that nobody waits for any more (the user switched again) is not thrown away: it goes
into the cache, and only a result of another folder (an older generation) is dropped. The saved
mask of a large image (a 12 MP PNG takes ~60 ms) is read with it; the session uses that copy only
if the file has not changed since. What is decoded is an item (`ukan_core.io.items.ImageItem`): one
frame of a file, so the frames of a multi-frame DICOM or the slices of a volume are cached one by one.
"""

from __future__ import annotations

import logging
import warnings
from collections import OrderedDict
from pathlib import Path
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

from ukan_core.io.items import ImageItem

log = logging.getLogger(__name__)

CACHE_IMAGES = 3                  # decoded images kept: the current one and its two neighbours
SMALL_FILE_BYTES = 1_000_000      # files up to this size (and ...)
SMALL_IMAGE_PIXELS = 2_000_000    # ... up to this many pixels) decode in a few ms: at once


def decodes_quickly(path: Path) -> bool:
    """True when `path` is small enough to decode on the GUI thread without a noticeable pause.

    Looks at the file size and, for formats Pillow knows, the header's pixel count (a well
    compressed 12 MP PNG can be a small file); reads no pixels.
    """
    try:
        if path.stat().st_size > SMALL_FILE_BYTES:
            return False
    except OSError:
        return True   # the session's own read says what is wrong with the file, at once
    try:
        from PIL import Image

        with warnings.catch_warnings():   # Pillow guessing at a DICOM's bytes warns about them
            warnings.simplefilter("ignore")
            with Image.open(path) as header:
                width, height = header.size
    except Exception:   # not a format Pillow reads the header of (DICOM, NIfTI, ...): a small file
        return True
    return width * height <= SMALL_IMAGE_PIXELS


def neighbour_items(items: dict[str, ImageItem], names: list[str], name: str) -> list[ImageItem]:
    """The next and previous items of `name` in the folder's order: likely the next ones asked for."""
    try:
        row = names.index(name)
    except ValueError:
        return []
    return [items[names[r]] for r in (row + 1, row - 1) if 0 <= r < len(names) and names[r] in items]


def as_item(source: ImageItem | Path) -> ImageItem:
    """`source` itself, or the item of a single-frame file given by its path."""
    return source if isinstance(source, ImageItem) else ImageItem(Path(source))


def read_now(source: ImageItem | Path) -> tuple[Any, str | None]:
    """Decode one item (a Path: its first frame) on this thread: (ImageData, None), or (None, one line
    saying why it cannot be read)."""
    from ukan_core.errors import UkanError
    from ukan_core.io.items import read_item

    item = as_item(source)
    try:
        return read_item(item), None
    except UkanError as exc:
        return None, str(exc)
    except OSError as exc:
        return None, f"{item.name}: cannot read ({exc.strerror or exc})"


class _LoaderState:
    """What the pool thread reads: plain Python, replaced (never mutated in place) by the GUI thread."""

    def __init__(self) -> None:
        self.generation = 0
        self.closed = False
        self.wanted: frozenset[ImageItem] = frozenset()   # paths still worth decoding (current and neighbours)

    def close(self, *_args: object) -> None:
        self.closed = True


def file_stamp(path: Path) -> tuple[int, int] | None:
    """(modification time in ns, size) of `path`, or None when it does not exist: did the file change?"""
    try:
        info = path.stat()
    except OSError:
        return None
    return info.st_mtime_ns, info.st_size


def read_stored_mask(path: Path | None) -> tuple[Path, tuple[int, int], Any] | None:
    """The saved mask PNG at `path` with the stamp it was read at; None when there is none (or it is unreadable)."""
    if path is None:
        return None
    stamp = file_stamp(path)
    if stamp is None:
        return None
    try:
        from ukan_core.io.masks import read_mask

        return path, stamp, read_mask(path)
    except Exception:   # the session reads it again on its own thread and reports what is wrong
        return None


class _DecodeJob(QRunnable):
    def __init__(self, loader: ImageLoader, state: _LoaderState, item: ImageItem, mask_path: Path | None) -> None:
        super().__init__()
        self._loader, self._state, self._item, self._generation = loader, state, item, state.generation
        self._mask_path = mask_path

    def _current(self) -> bool:
        return not self._state.closed and self._generation == self._state.generation

    def run(self) -> None:
        if not self._current() or self._item not in self._state.wanted:
            self._emit(self._loader.dropped, self._generation, self._item)
            return   # the user moved on before this decode started
        try:
            image, error = read_now(self._item)
        except Exception as exc:   # a decoder's surprise must not kill the pool thread silently
            log.exception("decoding %s failed", self._item.name)
            image, error = None, f"{self._item.name}: {exc}"
        if image is None:
            self._emit(self._loader.failed, self._generation, self._item, error or "cannot be read")
        else:
            self._emit(self._loader.decoded, self._generation, self._item, (image, read_stored_mask(self._mask_path)))

    def _emit(self, signal: Any, *args: object) -> None:
        if self._state.closed:
            return
        try:
            signal.emit(*args)
        except RuntimeError:   # the loader went between the check and the emit
            self._state.closed = True


class ImageLoader(QObject):
    """Decodes items on a pool thread; `loaded` / `load_failed` arrive on the GUI thread.

    Items are `ImageItem`s (one frame of one file); cache and masks are keyed by them.
    """

    loaded = Signal(object, object)        # ImageItem, ukan_core.io.images.ImageData (also cached)
    load_failed = Signal(object, str)      # ImageItem, one line
    # from the pool thread (generation first: a result of another folder is dropped)
    decoded = Signal(int, object, object)
    failed = Signal(int, object, str)
    dropped = Signal(int, object)

    def __init__(self, parent: QObject | None = None, cache_images: int = CACHE_IMAGES,
                 mask_path_of: Callable[[ImageItem], Path | None] | None = None) -> None:
        super().__init__(parent)
        self._mask_path_of = mask_path_of or (lambda _path: None)   # where the image's saved mask is
        self._masks: dict[ImageItem, tuple[Path, tuple[int, int], Any]] = {}   # image -> saved mask read with it
        self._state = _LoaderState()
        self.destroyed.connect(self._state.close)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._cache: OrderedDict[ImageItem, Any] = OrderedDict()
        self._cache_images = cache_images
        self._in_flight: set[ImageItem] = set()
        self.decoded.connect(self._on_decoded)
        self.failed.connect(self._on_failed)
        self.dropped.connect(self._on_dropped)

    def cached(self, item: ImageItem | Path) -> Any:
        """The decoded image of `item` (a Path: its only frame) if it is in the cache (it becomes the
        most recent), else None."""
        item = as_item(item)
        image = self._cache.get(item)
        if image is not None:
            self._cache.move_to_end(item)
        return image

    def keep(self, item: ImageItem, image: Any) -> None:
        """Put a decoded image into the cache (the oldest beyond the limit is forgotten)."""
        self._cache[item] = image
        self._cache.move_to_end(item)
        while len(self._cache) > self._cache_images:
            old, _image = self._cache.popitem(last=False)
            self._masks.pop(old, None)

    def take_stored_mask(self, item: ImageItem, mask_path: Path) -> Any:
        """The saved mask of `item` read with it in the background, if that file is unchanged since; else None."""
        stored = self._masks.pop(item, None)
        if stored is None or stored[0] != mask_path or stored[1] != file_stamp(mask_path):
            return None
        return stored[2]

    def is_loading(self, item: ImageItem) -> bool:
        return item in self._in_flight

    def load(self, item: ImageItem, neighbours: list[ImageItem] | None = None) -> None:
        """Decode `item` first, then `neighbours` (prefetch); `loaded` says when `item` is ready."""
        self._state.wanted = frozenset([item, *(neighbours or [])])
        self._start(item, priority=1)
        self.prefetch(neighbours or [])

    def prefetch(self, items: list[ImageItem]) -> None:
        """Decode `items` in the background unless they are cached or on their way already."""
        self._state.wanted = self._state.wanted | frozenset(items)
        for item in items:
            if item not in self._cache:
                self._start(item, priority=0)

    def want_only(self, items: list[ImageItem]) -> None:
        """Queued decodes of other items are skipped (the user moved on)."""
        self._state.wanted = frozenset(items)

    def reset(self) -> None:
        """Another folder: forget the cache, and drop every result still to come."""
        self._state.generation += 1
        self._pool.clear()
        self._in_flight.clear()
        self._cache.clear()
        self._masks.clear()

    def shutdown(self) -> None:
        """The folder closes: drop queued decodes and wait for the running one."""
        self.reset()
        self._pool.waitForDone(10_000)

    def _start(self, item: ImageItem, priority: int) -> None:
        if self._state.closed or item in self._in_flight:
            return
        self._in_flight.add(item)
        self._pool.start(_DecodeJob(self, self._state, item, self._mask_path_of(item)), priority)

    @Slot(int, object, object)
    def _on_decoded(self, generation: int, item: ImageItem, decoded: Any) -> None:
        if generation != self._state.generation:
            return
        image, stored_mask = decoded
        self._in_flight.discard(item)
        self.keep(item, image)
        if stored_mask is not None:
            self._masks[item] = stored_mask
        self.loaded.emit(item, image)

    @Slot(int, object, str)
    def _on_failed(self, generation: int, item: ImageItem, message: str) -> None:
        if generation != self._state.generation:
            return
        self._in_flight.discard(item)
        self.load_failed.emit(item, message)

    @Slot(int, object)
    def _on_dropped(self, generation: int, item: ImageItem) -> None:
        if generation == self._state.generation:
            self._in_flight.discard(item)
            if item in self._state.wanted:   # wanted again since the job looked: decode after all
                self._start(item, priority=1)
