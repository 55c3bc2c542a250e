"""The window's central area: the image canvas (or the empty state) with two floating overlays.

The notice bar and the first-run hint float over the canvas instead of taking a row of the
layout: showing them never resizes the canvas, so a message at the end of a job does not
re-render a large image (that relayout was the longest UI stall at the end of a Retrain).
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, Signal, Slot
from PySide6.QtWidgets import QFrame, QLabel, QPushButton, QStackedWidget, QVBoxLayout, QWidget

from ukan_studio.notice import NoticeBar

HINT_MARGIN = 16


class FirstRunHint(QFrame):
    """A short, dismissible card with the three steps of the loop: Segment, correct, Retrain."""

    dismissed = Signal()

    def __init__(self, shortcuts: dict[str, str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("firstRunHint")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setStyleSheet(
            "QFrame#firstRunHint { background: rgba(24, 28, 34, 232); border: 1px solid #3b82c4;"
            " border-radius: 10px; }"
            "QFrame#firstRunHint QLabel { color: #e8eef5; background: transparent; }")
        self.title = QLabel(self)
        self.title.setObjectName("firstRunTitle")
        self.set_on_samples(False)
        steps = QLabel(self)
        steps.setObjectName("firstRunSteps")
        steps.setTextFormat(Qt.TextFormat.RichText)
        steps.setText(
            "<ol style='margin-left:-20px'>"
            f"<li><b>Segment</b> the image ({shortcuts.get('segment', '')}) — or all of them"
            f" ({shortcuts.get('segment_all', '')}).</li>"
            f"<li><b>Correct</b> the mask: brush ({shortcuts.get('brush', 'B')}), eraser"
            f" ({shortcuts.get('eraser', 'E')}), polygon ({shortcuts.get('polygon', 'P')}), lasso"
            f" ({shortcuts.get('lasso', 'L')}); undo with"
            f" {shortcuts.get('undo', 'Ctrl+Z')}. Edits are saved at once.</li>"
            f"<li><b>Retrain</b> on your corrections ({shortcuts.get('retrain', '')}): the new model"
            " version is scored and selected; the old one is one click away.</li>"
            "</ol>Open your own images with File ▸ Open Folder. F1 lists every shortcut.")
        steps.setWordWrap(True)
        button = QPushButton("Got it", self)
        button.setObjectName("firstRunHintClose")
        button.clicked.connect(self._on_close_clicked)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(18, 14, 18, 14)
        layout.addWidget(self.title)
        layout.addWidget(steps)
        layout.addWidget(button, 0, Qt.AlignmentFlag.AlignRight)
        self.hide()

    def set_on_samples(self, on_samples: bool) -> None:
        """Say "these are sample images" only while the bundled samples are open."""
        where = " — these are sample images;" if on_samples else " —"
        self.title.setText(f"<b>Welcome to UKAN Studio</b>{where} three steps:")

    @Slot()
    def _on_close_clicked(self) -> None:
        self.hide()
        self.dismissed.emit()


class CentralArea(QWidget):
    """Holds `stack` (empty state / canvas) in its layout and keeps the overlays placed over it."""

    def __init__(self, stack: QStackedWidget, notice: NoticeBar, hint: FirstRunHint,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.stack, self.notice, self.hint = stack, notice, hint
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(stack)
        for overlay in (notice, hint):
            overlay.setParent(self)
            overlay.installEventFilter(self)   # re-place it when it is shown or its text changes
        self._place_overlays()

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().resizeEvent(event)
        self._place_overlays()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt override)
        if event.type() in (QEvent.Type.Show, QEvent.Type.LayoutRequest):
            self._place_overlays()
        return False

    def _place_overlays(self) -> None:
        width = self.width()
        self.notice.setGeometry(0, 0, width, _height_at(self.notice, width))
        self.notice.raise_()
        hint_width = min(width - 2 * HINT_MARGIN, 560)
        hint_height = _height_at(self.hint, hint_width)
        self.hint.setGeometry((width - hint_width) // 2, max(HINT_MARGIN, self.height() - hint_height - 3 * HINT_MARGIN),
                              hint_width, hint_height)
        self.hint.raise_()


def _height_at(widget: QWidget, width: int) -> int:
    """The height `widget` wants at `width` (word-wrapped labels grow), at least its size hint."""
    wanted = widget.heightForWidth(width) if widget.hasHeightForWidth() else -1
    return max(wanted, widget.sizeHint().height())
