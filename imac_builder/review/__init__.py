"""``imac-build review``: check every song's match in a browser and decide by hand."""

from .page import PAGE, ReviewSummary, render_page, write_review

__all__ = ["PAGE", "ReviewSummary", "render_page", "write_review"]
