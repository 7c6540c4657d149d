"""Small widget builders shared by the views and dialogs."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QAbstractItemModel
from PySide6.QtWidgets import QAbstractItemView, QTreeView


def record_list_view(model: QAbstractItemModel, widths: Sequence[int] = ()) -> QTreeView:
    """A flat list of records: whole rows selected one at a time, alternating colours,
    uniform row heights (fast on long lists), column widths from ``widths``."""
    view = QTreeView()
    view.setModel(model)
    view.setRootIsDecorated(False)
    view.setUniformRowHeights(True)
    view.setAlternatingRowColors(True)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setWordWrap(False)
    for col, width in enumerate(widths):
        view.setColumnWidth(col, width)
    return view
