"""Evacuates whose answer was lost: ask Nova whether it acted on them before anything is
sent again.

An item whose evacuate timed out, lost its connection after the request was written, or
got a 500/502/503/504 is recorded ``unknown`` (``store.batches.mark_answer_lost``), never
``submit_failed``: Nova may well have accepted it, and sending it again would evacuate the
server twice or, once it has moved, be refused with advice about the wrong host. ``resolve``
reads what Nova records of that one server (``rules.lost_answers``) and writes the verdict:

* found: ``submitted`` (with the record found as ``found_migration_id``); the progress page
  follows it in Nova like any accepted evacuation;
* absent: ``submit_failed`` with the ``not_received`` advice, retryable;
* too early, or Nova cannot be read: still ``unknown`` (``checked_at`` says when it was
  asked).

Who resolves: the sender, at once after the lost answer and again once the request can no
longer be inside nova-api (``deadline``); a retry and a resume, before they send anything;
the progress page, only when Nova's evacuation records it reads anyway show the instance
(no extra request).

Cost: up to three requests per unknown item (its evacuation records; its instance actions;
the server), the last two only when the first shows nothing.
"""
import datetime
import logging

from django.utils import timezone

from evac_dashboard import conf
from evac_dashboard.api import actions
from evac_dashboard.api import history as history_api
from evac_dashboard.api import nova
from evac_dashboard.rules import errors
from evac_dashboard.rules import lost_answers as rules
from evac_dashboard.rules.external import CLOCK_SKEW_MARGIN
from evac_dashboard.store import batches

LOG = logging.getLogger(__name__)

FOUND, ABSENT, WAIT = rules.FOUND, rules.ABSENT, rules.WAIT


def settle_seconds():
    """How long after its send a lost evacuate's absence from Nova is proof (twice
    EVAC_NOVA_TIMEOUT: ``rules.lost_answers.settle_seconds``)."""
    return rules.settle_seconds(conf.nova_timeout())


def sent_at(item):
    return item.submitting_at or item.answer_lost_at or item.updated_at


def deadline(item):
    """When ``item``'s absence from Nova can be proven (dashboard's clock)."""
    return sent_at(item) + datetime.timedelta(seconds=settle_seconds())


def _earlier_keys(item):
    """Evacuation records known to be an earlier attempt's own."""
    if (item.outcome_attempt is not None and item.outcome_attempt < item.attempt
            and item.outcome_migration_id):
        return {item.outcome_migration_id}
    return set()


def check(request, item, now=None, quick=False):
    """The ``rules.lost_answers.Finding`` for ``item`` from Nova's records now (raises on a
    Nova failure). ``quick``: its evacuation records only (one request), which can show it
    was accepted, never that it was not."""
    now = now or timezone.now()
    sent = sent_at(item)
    common = {"sent_at": sent, "now": now, "settle": settle_seconds(),
              "request_id": item.request_id, "earlier_keys": _earlier_keys(item)}
    finding = rules.decide(migrations=actions.instance_evacuations(request, item.instance_id),
                           **common)
    if finding.verdict == FOUND or quick:
        return finding if finding.verdict == FOUND else rules.Finding(WAIT, reason="quick")
    since = sent - CLOCK_SKEW_MARGIN if sent is not None else None
    try:
        found_actions = history_api.instance_actions(request, item.instance_id, since)
    except Exception as error:  # below 2.21 a deleted server's actions are a 404
        if actions.error_status(error) != 404:
            raise
        found_actions = []
    finding = rules.decide(actions=found_actions, **common)
    if finding.verdict == FOUND:
        return finding
    server = nova.server_get(request, item.instance_id)
    return rules.decide(server=server, deleted=server is None, **common)


def resolve(request, item, now=None, quick=False):
    """Ask Nova about one ``unknown`` item and record the verdict; returns the Finding
    (``WAIT`` with the reason when Nova could not be read). ``quick``: see ``check``."""
    try:
        finding = check(request, item, now, quick)
    except Exception as error:  # Nova unreadable: stays unknown, asked again later
        LOG.warning("Lost answer of %s (batch %s): Nova could not be asked: %s",
                    item.instance_id, item.batch_id, error)
        batches.mark_checked(item.pk)
        return rules.Finding(WAIT, reason="Nova could not be read (%s)"
                             % type(error).__name__)
    if finding.verdict == FOUND:
        if batches.mark_found(item.pk, finding.found_id):
            LOG.info("Lost answer of %s (batch %s): Nova has it: %s", item.instance_id,
                     item.batch_id, finding.reason)
    elif finding.verdict == ABSENT:
        if batches.mark_not_received(item.pk, errors.not_received(
                item.error_message or "no answer")):
            LOG.info("Lost answer of %s (batch %s): Nova never acted on it (%s)",
                     item.instance_id, item.batch_id, finding.reason)
    else:
        batches.mark_checked(item.pk)
    return finding


def resolve_all(request, items, now=None):
    """``resolve`` each of ``items``; returns ``{item id: Finding}``."""
    return {item.pk: resolve(request, item, now) for item in items}


def resolve_or_free(request, item, now=None):
    """Like ``resolve``, but an item proven never received is left ``unknown`` for the
    caller to send (a call a dead run left in flight, on resume)."""
    try:
        finding = check(request, item, now)
    except Exception as error:  # Nova unreadable: stays unknown, asked again later
        LOG.warning("Lost answer of %s (batch %s): Nova could not be asked: %s",
                    item.instance_id, item.batch_id, error)
        batches.mark_checked(item.pk)
        return rules.Finding(WAIT, reason=type(error).__name__)
    if finding.verdict == FOUND:
        batches.mark_found(item.pk, finding.found_id)
    elif finding.verdict != ABSENT:
        batches.mark_checked(item.pk)
    return finding

