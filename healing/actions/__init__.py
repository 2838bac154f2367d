"""Every state change goes through a named, transactional action in this package.

Views, consumers and tasks stay thin and call these. Broadcasts and Celery calls are sent with
transaction.on_commit, so nothing is announced that did not happen.
"""

from .audit import actor_label, record_event
from .emergency_stop import do_emergency_stop, do_resume
from .modifications import ConcurrentTransition, transition
from .setting_changes import do_change_setting

__all__ = [
    "ConcurrentTransition",
    "actor_label",
    "do_change_setting",
    "do_emergency_stop",
    "do_resume",
    "record_event",
    "transition",
]
