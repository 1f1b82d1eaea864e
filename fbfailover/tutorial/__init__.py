"""The tutorial's steps as plain functions, used by the notebooks and their widget forms.

``connect()`` decides where requests go (live, a shared sandbox, or the project's own sandbox) and
returns the session every step takes. Each step returns a ``Panel`` that renders identically on every run.
The failure gallery of notebook 06 is ``gallery``; the checked exercises of steps 02 and 03 are in
``setup_exercises`` (built on ``checks``).
"""

from fbfailover.tutorial import exercises
from fbfailover.tutorial.display import Panel
from fbfailover.tutorial.facebook_ids import (
    LIVE_TIMEOUT,
    facebook_id_problem,
    learn_facebook_ids,
    save_facebook_ids,
    user_writes,
)
from fbfailover.tutorial.failover_steps import (
    OUTCOMES,
    apply_outcome,
    compare_requests,
    follow_dispatch,
    follow_v1,
    send_failover,
    send_v1_failover,
)
from fbfailover.tutorial.gallery import try_request
from fbfailover.tutorial.predictions import Prediction, dispatch_outcome, v1_rejection
from fbfailover.tutorial.session import Tutorial, connect
from fbfailover.tutorial.setup_steps import (
    DEFAULT_APP_NAME,
    configure_account_webhooks,
    create_or_reuse_application,
    ensure_application,
    mint_token,
    prerequisites,
    require_public_url,
    restore_account_webhooks,
    unreachable_account_webhook,
)
from fbfailover.tutorial.stepped_clock import SteppedClock, manual_clock
from fbfailover.tutorial.twins import token_twins

__all__ = [
    "DEFAULT_APP_NAME",
    "LIVE_TIMEOUT",
    "OUTCOMES",
    "Panel",
    "Prediction",
    "SteppedClock",
    "Tutorial",
    "apply_outcome",
    "compare_requests",
    "configure_account_webhooks",
    "connect",
    "create_or_reuse_application",
    "dispatch_outcome",
    "ensure_application",
    "exercises",
    "facebook_id_problem",
    "follow_dispatch",
    "follow_v1",
    "learn_facebook_ids",
    "manual_clock",
    "mint_token",
    "prerequisites",
    "require_public_url",
    "restore_account_webhooks",
    "save_facebook_ids",
    "send_failover",
    "send_v1_failover",
    "token_twins",
    "try_request",
    "unreachable_account_webhook",
    "user_writes",
    "v1_rejection",
]
