"""A record's options as an operator reads them: labels, not keys; yes/no, not True/False.

The password is never among them (records keep only ``password_set``, which the page shows
as its own line), and an option the request did not carry is not shown.
"""
from django.utils.translation import gettext_lazy as _

YES, NO = _("yes"), _("no")


def _yes_no(value):
    return YES if value else NO


def _target(value):
    return value or _("chosen by the scheduler")


def _power(keep_running):
    return _("come back running") if keep_running else _("stay stopped")


# key -> (label, how its value reads, shown when the value is None)
KNOWN = (
    ("target_host", _("Target host"), _target, True),
    ("force", _("Force target host"), _yes_no, True),
    ("keep_running", _("Servers after evacuation"), _power, True),
    # None: not part of the request (only clouds before 2.14 take it).
    ("on_shared_storage", _("Instance disks on shared storage"), _yes_no, False),
    ("reason", _("Reason"), str, False),
    ("nova_state", _("Nova's service state then"), str, False),
    ("nova_last_heartbeat", _("Last heartbeat from nova-compute (UTC)"), str, False),
)
NOT_SHOWN = ("password_set",)


def described(options):
    """``[(label, value)]`` for the record's (password-free) options."""
    options = dict(options or {})
    rows = []
    for key, label, read, when_none in KNOWN:
        if key not in options:
            continue
        value = options.pop(key)
        if value is None and not when_none:
            continue
        rows.append((label, read(value)))
    for key in sorted(options):
        if key in NOT_SHOWN:
            continue
        value = options[key]
        if isinstance(value, bool):
            value = _yes_no(value)
        rows.append((key.replace("_", " ").capitalize(), "-" if value in (None, "") else value))
    return rows
