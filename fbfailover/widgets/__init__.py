"""ipywidgets views and forms: each a thin skin over tested functions of the package."""

from fbfailover.widgets.active import ClockStepper, Quiz
from fbfailover.widgets.confirm import ConfirmChange
from fbfailover.widgets.facebook_ids_form import FacebookIdsForm
from fbfailover.widgets.failover_forms import FailoverForm, MessagesV1Form
from fbfailover.widgets.feed import EventFeed
from fbfailover.widgets.forms import ApplicationForm, Form, JwtForm
from fbfailover.widgets.timeline import FailoverTimeline
from fbfailover.widgets.twins import TwinTabs

__all__ = [
    "ApplicationForm",
    "ClockStepper",
    "ConfirmChange",
    "EventFeed",
    "FacebookIdsForm",
    "FailoverForm",
    "FailoverTimeline",
    "Form",
    "JwtForm",
    "MessagesV1Form",
    "Quiz",
    "TwinTabs",
]
