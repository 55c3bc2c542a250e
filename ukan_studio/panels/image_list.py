"""The image list: names at once, thumbnails as rows come into view, a status pill per image.

After Segment each predicted image also shows an uncertainty badge (its score as %, green / amber
/ red), and the list can be ordered "most uncertain first"; both come from `set_scores`.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import (
    QAbstractListModel, QModelIndex, QPersistentModelIndex, QRect, QSize, QSortFilterProxyModel, Qt, Slot,
)
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPixmap
from PySide6.QtWidgets import QListView, QStyle, QStyledItemDelegate, QStyleOptionViewItem, QWidget

from ukan_core.annotation import statuses
from ukan_studio.panels.thumbnails import THUMB_SIZE, ThumbnailLoader
from ukan_studio.session import Session

STATUS_ROLE = Qt.ItemDataRole.UserRole + 1
GROUP_ROLE = Qt.ItemDataRole.UserRole + 3   # None (a single-frame file), or (frame, frame count)
GROUP_INDENT = 14                           # pixels the frames of one file are indented by
STATUS_COLORS = {
    "unlabelled": QColor(128, 132, 140),
    "predicted": QColor(64, 156, 255),
    "corrected": QColor(46, 184, 114),
    "imported": QColor(150, 110, 220),
    "accepted": QColor(0, 170, 170),
    "error": QColor(226, 72, 72),
}
SCORE_ROLE = Qt.ItemDataRole.UserRole + 2      # (score 0..1, stale) or None
SCORE_LEVELS = ((0.10, "low", QColor(46, 184, 114)), (0.25, "medium", QColor(230, 160, 40)),
                (1.01, "high", QColor(226, 72, 72)))   # upper bound, word, colour
STALE_COLOR = QColor(128, 132, 140)
SCORE_TIP = ("Uncertainty {pct} % ({level}): how much the model's mask changes when the image is flipped "
             "(0 % = sure). Correct the most uncertain images first.")
STALE_TIP = "Uncertainty {pct} % from another model: Segment again for this model's score."
STATUS_TEXT = {"unlabelled": "unlabelled", "predicted": "predicted", "corrected": "corrected",
               "imported": "imported", "accepted": "accepted", "error": "unreadable"}


class ImageListModel(QAbstractListModel):
    """Rows are the session's image names; thumbnails load lazily on a pool thread.

    Every frame of a multi-frame file (DICOM frames, TIFF pages, NIfTI slices) is a row of its own,
    `cine.dcm [2/5]`, with its own thumbnail and status; GROUP_ROLE says where a row sits among its
    file's frames, so the delegate indents them beside a bar that groups them.
    """

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._session = session
        self._thumbs: dict[str, QPixmap | None] = {}   # None: requested (or failed)
        self._errors: set[str] = set()
        self._scores: dict[str, tuple[float, bool]] = {}   # name -> (score, stale)
        self.loader = ThumbnailLoader(self)
        self.loader.ready.connect(self._on_loader_ready)
        self.loader.failed.connect(self._on_loader_failed)
        session.folder_opened.connect(self._on_session_folder_opened)
        session.status_changed.connect(self._on_session_status_changed)

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._session.names)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self._session.names):
            return None
        name = self._session.names[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return self._session.display(name)   # readable; the real key (maybe not UTF-8) is `name_at(row)`
        if role == STATUS_ROLE:
            return "error" if name in self._errors else self._session.status(name)
        if role == GROUP_ROLE:
            item = self._session.items.get(name)
            return None if item is None or item.n_frames == 1 else (item.frame, item.n_frames)
        if role == SCORE_ROLE:
            if name in self._errors or not statuses.segment_may_overwrite(self._session.status(name)):
                return None   # the user's own mask (corrected, imported, accepted): done, no badge
            return self._scores.get(name)
        if role == Qt.ItemDataRole.ToolTipRole:
            status = self.data(index, STATUS_ROLE)
            tip = f"{self._session.display(name)}\n{STATUS_TEXT.get(status, status)}"
            score = self.data(index, SCORE_ROLE)
            return f"{tip}\n{score_tooltip(*score)}" if score is not None else tip
        if role == Qt.ItemDataRole.DecorationRole:
            if name not in self._thumbs and self._session.folder is not None:
                self._thumbs[name] = None
                item = self._session.item(name)
                self.loader.request(name, item.path, item.frame)
            return self._thumbs.get(name)
        return None

    def name_at(self, row: int) -> str:
        """The image's file name as the file system gives it (a QString would mangle undecodable bytes)."""
        return self._session.names[row]

    def row_of(self, name: str) -> int:
        try:
            return self._session.names.index(name)
        except ValueError:
            return -1

    def set_scores(self, scores: dict[str, tuple[float, bool]]) -> None:
        """Show these uncertainty scores (name -> (score, stale)); every other image has none."""
        self._scores = dict(scores)
        if self.rowCount():
            self.dataChanged.emit(self.index(0), self.index(self.rowCount() - 1))

    def mark_error(self, name: str) -> None:
        self._errors.add(name)
        self._refresh(name)

    def _refresh(self, name: str) -> None:
        row = self.row_of(name)
        if row >= 0:
            index = self.index(row)
            self.dataChanged.emit(index, index)

    @Slot(str)
    def _on_session_folder_opened(self, _folder: str) -> None:
        self.beginResetModel()
        self.loader.reset()
        self._thumbs.clear()
        self._errors.clear()
        self._scores.clear()
        self.endResetModel()

    @Slot(str, str)
    def _on_session_status_changed(self, name: str, _status: str) -> None:
        self._refresh(name)

    @Slot(int, str, QImage)
    def _on_loader_ready(self, generation: int, name: str, image: QImage) -> None:
        if generation == self.loader.generation:
            self._thumbs[name] = QPixmap.fromImage(image)
            self._refresh(name)

    @Slot(int, str)
    def _on_loader_failed(self, generation: int, name: str) -> None:
        if generation == self.loader.generation:
            self.mark_error(name)


ORDERS = ("file", "uncertain")


class ImageStatusFilter(QSortFilterProxyModel):
    """Shows only images of one status (or all), in file order or most uncertain first. Rows do
    not vanish or jump while the user edits: filter and order apply when chosen (or `resort`)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._status: str | None = None
        self._order = "file"
        self.setDynamicSortFilter(False)

    @property
    def order(self) -> str:
        return self._order

    def set_order(self, order: str) -> None:
        """"file" (the folder's order) or "uncertain" (highest current score first, unscored last)."""
        if order not in ORDERS:
            raise ValueError(f"unknown image order {order!r}")
        self._order = order
        self.resort()

    def resort(self) -> None:
        """Apply the order again (after new scores arrived)."""
        if self._order == "file":
            self.sort(-1)
            self.invalidate()
        else:
            self.invalidate()
            self.sort(0, Qt.SortOrder.AscendingOrder)

    def lessThan(self, left: QModelIndex | QPersistentModelIndex,  # noqa: N802 (Qt override)
                 right: QModelIndex | QPersistentModelIndex) -> bool:
        if self._order == "file":
            return left.row() < right.row()
        a, b = sort_score(left.data(SCORE_ROLE)), sort_score(right.data(SCORE_ROLE))
        return a > b if a != b else left.row() < right.row()

    @property
    def status(self) -> str | None:
        return self._status

    def set_status(self, status: str | None) -> None:
        self.beginFilterChange()
        self._status = status
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, source_row: int, source_parent: QModelIndex | QPersistentModelIndex) -> bool:
        if self._status is None:
            return True
        index = self.sourceModel().index(source_row, 0, source_parent)
        return index.data(STATUS_ROLE) == self._status


class ImageRowDelegate(QStyledItemDelegate):
    """Thumbnail, file name and a small coloured status pill; frames of one file indented as a group."""

    ROW_HEIGHT = THUMB_SIZE + 12

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:
        return QSize(200, self.ROW_HEIGHT)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:
        painter.save()
        rect: QRect = option.rect
        palette = option.palette
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        if selected:
            painter.fillRect(rect, palette.highlight())
        elif option.state & QStyle.StateFlag.State_MouseOver:
            painter.fillRect(rect, palette.alternateBase())
        group = index.data(GROUP_ROLE)
        indent = GROUP_INDENT if group is not None else 0
        if group is not None:
            paint_group_bar(painter, rect, group, palette.mid().color())
        thumb_rect = QRect(rect.left() + 8 + indent, rect.top() + 6, THUMB_SIZE, THUMB_SIZE)
        painter.fillRect(thumb_rect, QColor(0, 0, 0, 60))
        pixmap = index.data(Qt.ItemDataRole.DecorationRole)
        if isinstance(pixmap, QPixmap) and not pixmap.isNull():
            scaled = pixmap.size().scaled(thumb_rect.size(), Qt.AspectRatioMode.KeepAspectRatio)
            target = QRect(0, 0, scaled.width(), scaled.height())
            target.moveCenter(thumb_rect.center())
            painter.drawPixmap(target, pixmap)
        status = index.data(STATUS_ROLE) or "unlabelled"
        text_color = palette.highlightedText().color() if selected else palette.text().color()
        x = thumb_rect.right() + 10
        name_font = QFont(option.font)
        painter.setFont(name_font)
        painter.setPen(text_color)
        name_rect = QRect(x, rect.top() + 8, rect.right() - x - 6, 20)
        name = painter.fontMetrics().elidedText(str(index.data()), Qt.TextElideMode.ElideMiddle, name_rect.width())
        painter.drawText(name_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, name)
        pill_font = QFont(option.font)
        pill_font.setPointSizeF(max(7.0, option.font.pointSizeF() * 0.82))
        painter.setFont(pill_font)
        label = STATUS_TEXT.get(status, status)
        width = painter.fontMetrics().horizontalAdvance(label) + 14
        pill = QRect(x, rect.top() + 32, width, 17)
        color = STATUS_COLORS.get(status, STATUS_COLORS["unlabelled"])
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setPen(Qt.PenStyle.NoPen)
        fill = QColor(color)
        fill.setAlpha(60 if not selected else 120)
        painter.setBrush(fill)
        painter.drawRoundedRect(pill, 8, 8)
        light_theme = palette.base().color().lightness() > 128
        painter.setPen(text_color if selected else (color.darker(140) if light_theme else color.lighter(135)))
        painter.drawText(pill, Qt.AlignmentFlag.AlignCenter, label)
        score = index.data(SCORE_ROLE)
        if score is not None:
            value, stale = score
            badge_text = f"{round(100 * value)} %"
            badge_color = STALE_COLOR if stale else score_level(value)[1]
            badge = QRect(pill.right() + 6, pill.top(), painter.fontMetrics().horizontalAdvance(badge_text) + 12, 17)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(badge_color)
            painter.drawRoundedRect(badge, 8, 8)
            painter.setPen(QColor(255, 255, 255) if not stale else QColor(235, 235, 235))
            painter.drawText(badge, Qt.AlignmentFlag.AlignCenter, badge_text)
        painter.restore()


def paint_group_bar(painter: QPainter, rect: QRect, group: tuple[int, int], color: QColor) -> None:
    """The bar beside the rows of one multi-frame file: from the middle of its first row to the
    middle of its last, so a file's frames read as one group."""
    frame, count = group
    x = rect.left() + 8
    top = rect.center().y() if frame == 0 else rect.top()
    bottom = rect.center().y() if frame == count - 1 else rect.bottom()
    painter.fillRect(QRect(x, top, 3, max(bottom - top, 1)), color)
    painter.fillRect(QRect(x, rect.center().y() - 1, GROUP_INDENT - 2, 3), color)


class ImageListView(QListView):
    """The list widget (objectName "imageList"); uniform rows so 1,000 names lay out instantly."""

    def __init__(self, model: QAbstractListModel | QSortFilterProxyModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("imageList")
        self.setModel(model)
        self.setItemDelegate(ImageRowDelegate(self))
        self.setUniformItemSizes(True)
        self.setMouseTracking(True)
        self.setSelectionMode(QListView.SelectionMode.ExtendedSelection)
        self.setVerticalScrollMode(QListView.ScrollMode.ScrollPerPixel)
        self.setMinimumWidth(220)

    def selected_names(self) -> list[str]:
        """The real file names of the selected rows (by row, never through the displayed text)."""
        return sorted({name_of(i) for i in self.selectionModel().selectedIndexes()})


def name_of(index: QModelIndex | QPersistentModelIndex) -> str:
    """The image file name behind a row of the image list, through any filter proxies."""
    model = index.model()
    while isinstance(model, QSortFilterProxyModel):
        index = model.mapToSource(index)
        model = index.model()
    return model.name_at(index.row())


def score_level(score: float) -> tuple[str, QColor]:
    """("low" | "medium" | "high", its badge colour) of an uncertainty score."""
    for bound, word, color in SCORE_LEVELS:
        if score < bound:
            return word, color
    return SCORE_LEVELS[-1][1], SCORE_LEVELS[-1][2]


def score_tooltip(score: float, stale: bool) -> str:
    """The badge's tooltip: what the number means."""
    pct = round(100 * score)
    return STALE_TIP.format(pct=pct) if stale else SCORE_TIP.format(pct=pct, level=score_level(score)[0])


def sort_score(value: object) -> float:
    """The sort key of a SCORE_ROLE value: the score when current, −1 (last) when none or stale."""
    if isinstance(value, tuple) and not value[1]:
        return float(value[0])
    return -1.0
