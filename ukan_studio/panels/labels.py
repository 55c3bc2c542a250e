"""Label classes: names and colours; binary (background + one class) by default."""

from __future__ import annotations

from PySide6.QtCore import Signal, Slot
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QColorDialog, QHBoxLayout, QInputDialog, QListWidget, QListWidgetItem, QPushButton, QVBoxLayout, QWidget,
)

from ukan_studio.canvas.overlay import DEFAULT_COLORS


def _swatch(color: tuple[int, int, int]) -> QIcon:
    pixmap = QPixmap(14, 14)
    pixmap.fill(QColor(*color))
    return QIcon(pixmap)


class LabelsPanel(QWidget):
    """Lists classes 1..K (0 is the background); the selected one is what the brush paints."""

    current_label_changed = Signal(int)
    colors_changed = Signal(list)        # [(r, g, b)] by label value, index 0 = background
    classes_changed = Signal(list)       # [names] by label value

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("labelsPanel")
        self._names: list[str] = ["background", "foreground"]
        self._colors: list[tuple[int, int, int]] = list(DEFAULT_COLORS)
        self._list = QListWidget(self)
        self._list.setObjectName("labelList")
        self._list.currentRowChanged.connect(self._on_list_current_row_changed)
        self._list.itemDoubleClicked.connect(self._on_list_item_double_clicked)
        add = QPushButton("Add class", self)
        add.clicked.connect(self._on_add_clicked)
        color = QPushButton("Colour…", self)
        color.clicked.connect(self._on_color_clicked)
        buttons = QHBoxLayout()
        buttons.addWidget(add)
        buttons.addWidget(color)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self._list)
        layout.addLayout(buttons)
        self._rebuild()

    @property
    def names(self) -> list[str]:
        return list(self._names)

    @property
    def colors(self) -> list[tuple[int, int, int]]:
        return list(self._colors)

    def current_label(self) -> int:
        return max(1, self._list.currentRow() + 1)

    def set_classes(self, names: list[str]) -> None:
        """Show the classes of a newly opened folder (names by label value)."""
        self._names = list(names) if len(names) >= 2 else ["background", "foreground"]
        self._rebuild()

    def select_label(self, label: int) -> None:
        if 1 <= label < len(self._names):
            self._list.setCurrentRow(label - 1)

    def _rebuild(self) -> None:
        while len(self._colors) < len(self._names):
            self._colors.append(DEFAULT_COLORS[1 + (len(self._colors) - 1) % (len(DEFAULT_COLORS) - 1)])
        self._list.blockSignals(True)
        row = max(0, self._list.currentRow())
        self._list.clear()
        for value, name in enumerate(self._names[1:], start=1):
            item = QListWidgetItem(_swatch(self._colors[value]), f"{value}  {name}")
            item.setToolTip("Double-click to rename")
            self._list.addItem(item)
        self._list.setCurrentRow(min(row, self._list.count() - 1))
        self._list.blockSignals(False)
        self.colors_changed.emit(self.colors)

    @Slot(int)
    def _on_list_current_row_changed(self, row: int) -> None:
        self.current_label_changed.emit(max(1, row + 1))

    @Slot(QListWidgetItem)
    def _on_list_item_double_clicked(self, item: QListWidgetItem) -> None:
        value = self._list.row(item) + 1
        name, ok = QInputDialog.getText(self, "Rename class", "Name:", text=self._names[value])
        if ok and name.strip():
            self._names[value] = name.strip()
            self._rebuild()
            self.classes_changed.emit(self.names)

    @Slot()
    def _on_add_clicked(self) -> None:
        self._names.append(f"class {len(self._names)}")
        self._rebuild()
        self._list.setCurrentRow(self._list.count() - 1)
        self.classes_changed.emit(self.names)

    @Slot()
    def _on_color_clicked(self) -> None:
        value = self.current_label()
        r, g, b = self._colors[value]
        chosen = QColorDialog.getColor(QColor(r, g, b), self, "Label colour")
        if chosen.isValid():
            self._colors[value] = (chosen.red(), chosen.green(), chosen.blue())
            self._rebuild()

