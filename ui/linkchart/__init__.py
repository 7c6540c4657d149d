"""The link chart view (i2 Analyst's Notebook style): ``LinkChartWidget`` for the main
window; ``ChartScene``/``ChartView`` underneath. The chart's logic (building, layouts,
analysis, saved charts, GraphML/ANX) lives in ``workstation.analysis.graph``."""

from ui.linkchart.scene import ChartScene
from ui.linkchart.view import ChartView
from ui.linkchart.widget import LinkChartWidget

__all__ = ["ChartScene", "ChartView", "LinkChartWidget"]
