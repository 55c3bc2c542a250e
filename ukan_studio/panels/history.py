"""The History panel: the undo steps of the current image, undone ones greyed and in italics.

QUndoView draws every step alike, so after Ctrl+Z nothing showed which steps a Redo would bring
back; the delegate greys the rows past the stack's current index.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Slot
from PySide6.QtGui import QPalette, QUndoGroup
from PySide6.QtWidgets import QStyledItemDelegate, QStyleOptionViewItem, QUndoView, QWidget


class UndoneStepsDelegate(QStyledItemDelegate):
    """Draws the steps after the current one (undone, redoable) grey and italic."""

    def __init__(self, group: QUndoGroup, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._group = group

    def is_undone(self, index: QModelIndex | QPersistentModelIndex) -> bool:
        """Row 0 is the clean start ("Opened"); row n is step n, undone when past the stack's index."""
        stack = self._group.activeStack()
        return stack is not None and index.row() > stack.index()

    def initStyleOption(self, option: QStyleOptionViewItem,  # noqa: N802 (Qt override)
                        index: QModelIndex | QPersistentModelIndex) -> None:
        super().initStyleOption(option, index)
        if self.is_undone(index):
            grey = option.palette.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text)
            option.palette.setColor(QPalette.ColorRole.Text, grey)
            option.font.setItalic(True)


class HistoryView(QUndoView):
    """The undo steps of `group`'s active stack (click one to go back to it)."""

    def __init__(self, group: QUndoGroup, parent: QWidget | None = None) -> None:
        super().__init__(group, parent)
        self.setObjectName("historyView")
        self.setEmptyLabel("Opened")
        self.undone_delegate = UndoneStepsDelegate(group, self)
        self.setItemDelegate(self.undone_delegate)
        group.indexChanged.connect(self._on_index_changed)

    @Slot(int)
    def _on_index_changed(self, _index: int) -> None:
        self.viewport().update()
