"""The timeline view (pyqtgraph): lanes of events on a real time axis with an overview.

``TimelineWidget(session_or_ws, hub, task_runner=None)`` is the dock content; see
``ui/timeline/widget.py`` for what it does and ``workstation/analysis/timeline.py`` for the
queries under it.
"""

from ui.timeline.widget import TimelineWidget

__all__ = ["TimelineWidget"]
