"""Seized-media review: the protected thumbnail grid and its model.

Add it to the main window as a tab: ``MediaReviewWidget(session)``.
"""

from ui.media.review import MediaReviewWidget

__all__ = ["MediaReviewWidget"]
