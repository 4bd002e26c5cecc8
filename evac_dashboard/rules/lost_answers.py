"""Did Nova act on an evacuate whose answer was lost? Decided from what Nova records.

An evacuate Nova accepts leaves, before Nova answers, an ``evacuate`` instance action (its
``request_id`` is the answer's request ID) and an evacuation migration record, and sets the
server's task to ``rebuilding`` (shared/reference/nova-evacuate.md §1.3). So once the
request can no longer be inside nova-api, no trace of it means it did not take effect.

``decide`` is given Nova's records of the one server (``GET /os-migrations?instance_uuid=``,
``GET /servers/{id}/os-instance-actions``, ``GET /servers/{id}``) and says:

* ``FOUND``: an evacuation of the server exists since the request was sent (ours, or
  someone else's at the same moment: either way it must not be sent again);
* ``ABSENT``: no trace, the server is not being rebuilt, and the request was sent at least
  ``settle`` ago (nova-api may still be working on a request whose answer we stopped waiting
  for: the caller waits as long again as it waited for the answer, ``settle_seconds``);
* ``WAIT``: nothing yet, but it is too early to tell, or the server is being rebuilt
  without a record yet.

Errs towards FOUND: records from up to ``margin`` before the send count (Nova's clock may
differ from ours), except the one recorded as an earlier attempt's own outcome.
"""
from dataclasses import dataclass
from datetime import timedelta

from evac_dashboard.rules import servers as srv
from evac_dashboard.rules import services as svc
from evac_dashboard.rules.external import CLOCK_SKEW_MARGIN
from evac_dashboard.rules.i18n import gettext as _

FOUND = "found"
ABSENT = "absent"
WAIT = "wait"

EVACUATE_ACTION = "evacuate"


def settle_seconds(nova_timeout):
    """How long after sending an evacuate its absence from Nova proves it had no effect:
    twice the time the dashboard waited for the answer (EVAC_NOVA_TIMEOUT). nova-api does its
    synchronous part (task state, action, migration record) in well under a second; a request
    still unanswered after a whole timeout is stuck, and is given as long again."""
    return 2 * float(nova_timeout)


@dataclass(frozen=True)
class Finding:
    verdict: str
    found_id: str | None = None  # the migration (uuid or id), or "action:<request id>"
    reason: str = ""


def migration_key(migration):
    return str(migration.get("uuid") or migration.get("id") or "")


def decide(sent_at, now, settle, migrations=(), actions=(), server=None, deleted=False,
           request_id=None, earlier_keys=(), margin=CLOCK_SKEW_MARGIN):
    """The ``Finding`` for one item (see the module docstring).

    ``sent_at``/``now``: aware datetimes on the dashboard's clock; ``settle``: seconds.
    ``migrations``/``actions``: the server's evacuation records and instance actions as Nova
    lists them; ``server``: the server as Nova shows it now (``deleted``: Nova says 404).
    ``request_id``: the request ID of the lost answer, when something carried it.
    ``earlier_keys``: migrations known to belong to earlier attempts of the item.
    """
    since = sent_at - margin if sent_at is not None else None
    for migration in migrations:
        if migration.get("migration_type", "evacuation") != "evacuation":
            continue
        key = migration_key(migration)
        if key in earlier_keys:
            continue
        created = svc.parse_time(migration.get("created_at"))
        if since is None or created is None or created >= since:
            return Finding(FOUND, key, _("Nova has an evacuation record of it (%(record)s, "
                                         "%(status)s)")
                           % {"record": key, "status": migration.get("status") or "?"})
    for action in actions:
        if action.get("action") != EVACUATE_ACTION:
            continue
        started = svc.parse_time(action.get("start_time"))
        if (request_id and action.get("request_id") == request_id) or since is None or (
                started is not None and started >= since):
            return Finding(FOUND, "action:%s" % action.get("request_id"),
                           _("Nova has an evacuate action of it (%s)") % action.get("request_id"))
    if deleted:
        return Finding(ABSENT, reason=_("the server no longer exists"))
    if server is not None and (srv.task_state(server) in srv.REBUILD_TASK_STATES
                               or srv.status(server) == "REBUILD"):
        return Finding(WAIT, reason=_("Nova is rebuilding the server but shows no record yet"))
    if sent_at is None or now - sent_at < timedelta(seconds=settle):
        return Finding(WAIT, reason=_("nova-api may still be handling the request"))
    return Finding(ABSENT, reason=_("no evacuation record, no evacuate action, and the server "
                                    "is not being rebuilt"))
