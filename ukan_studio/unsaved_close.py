"""Closing with edits that could not be saved: the user decides, nothing is lost silently.

When the last save fails (a full disk, a pulled drive, a read-only share) the window asks:
Retry (after freeing space), Export the unsaved masks as PNGs to a folder, Discard them
(explicitly), or Cancel and keep working.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from ukan_core.annotation.export import write_unsaved_masks
from ukan_core.annotation.keys import display_item
from ukan_studio.session import Session

RETRY, EXPORT, DISCARD, CANCEL = "retry", "export", "discard", "cancel"


def close_session_or_ask(parent: QWidget, session: Session) -> bool:
    """Save and close `session`; while saves fail, ask what to do. False when the window must stay open."""
    problem = ""
    while not session.close():
        unsaved = session.unsaved_masks()
        choice = ask_unsaved_choice(parent, _message(unsaved, problem))
        problem = ""
        if choice == CANCEL:
            return False
        if choice == DISCARD:
            session.discard_unsaved()
        elif choice == EXPORT:
            folder = QFileDialog.getExistingDirectory(parent, "Export the unsaved masks to")
            if not folder:
                continue
            try:
                write_unsaved_masks(unsaved, Path(folder))
            except (OSError, ValueError) as exc:
                problem = f"Export to {folder} failed too ({getattr(exc, 'strerror', None) or exc})."
                continue
            session.discard_unsaved()   # they are safe in the chosen folder now
    return True


def ask_unsaved_choice(parent: QWidget, text: str) -> str:
    """A modal question with Retry, Export…, Discard and Cancel; returns the choice."""
    box = QMessageBox(QMessageBox.Icon.Warning, "Unsaved edits", text, QMessageBox.StandardButton.NoButton, parent)
    box.setObjectName("unsavedEditsDialog")
    buttons = {
        RETRY: box.addButton("Retry", QMessageBox.ButtonRole.AcceptRole),
        EXPORT: box.addButton("Export as PNGs…", QMessageBox.ButtonRole.ActionRole),
        DISCARD: box.addButton("Discard edits", QMessageBox.ButtonRole.DestructiveRole),
        CANCEL: box.addButton("Keep the window open", QMessageBox.ButtonRole.RejectRole),
    }
    for name, button in buttons.items():
        button.setObjectName(f"{name}Button")
    box.setDefaultButton(buttons[RETRY])
    box.setEscapeButton(buttons[CANCEL])
    box.exec()
    clicked = box.clickedButton()
    return next((name for name, button in buttons.items() if button is clicked), CANCEL)


def _message(unsaved: dict, problem: str) -> str:
    names = [display_item(n) for n in unsaved]
    listed = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    what = f"The edits of {listed} could not be saved" if names else "Some annotation files could not be saved"
    return (f"{problem + ' ' if problem else ''}{what} (see the message in the window). Free space or fix the "
            f"folder and Retry, export the masks as PNGs to another folder, or discard the edits.")
