"""ipywidgets views and forms: each a thin skin over tested functions of the package."""

from fbfailover.widgets.feed import EventFeed
from fbfailover.widgets.timeline import FailoverTimeline

__all__ = [
    "EventFeed",
    "FailoverTimeline",
]
