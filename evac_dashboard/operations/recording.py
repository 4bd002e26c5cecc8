"""Audit records around the panel's Nova calls: written before the call, completed after,
with Nova's own words when it refuses (``store.audit`` keeps the records)."""
import contextlib
import logging

from evac_dashboard.models import AuditRecord
from evac_dashboard.api import actions
from evac_dashboard.api import history
from evac_dashboard.store import audit

LOG = logging.getLogger(__name__)


def microversion_of(who, microversion=None):
    """The microversion to write in a record: the one given, else the one negotiated for
    this request's cloud (no Nova call when it is already known)."""
    if microversion:
        return str(microversion)
    if getattr(who, "user", None) is None:
        return ""
    return history.known_microversion(who) or ""


def begin(who, action, microversion=None, **fields):
    """``store.audit.begin`` with the request's microversion filled in."""
    return audit.begin(who, action, microversion=microversion_of(who, microversion), **fields)


def describe_error(error):
    """Nova's refusal in a line: ``HTTP 400: <message>``, or the exception's type and text.
    (Errors of the calls audited never carry the request body, so no password.)"""
    status = actions.error_status(error)
    message = getattr(error, "message", None) or str(error) or type(error).__name__
    if status:
        return "HTTP %d: %s" % (status, message)
    return "%s: %s" % (type(error).__name__, message)


def _error_request_id(error):
    return getattr(error, "request_id", None) or None


@contextlib.contextmanager
def recorded(who, action, **fields):
    """Record the Nova call(s) made in the block: written before, completed after.

    The block may set ``record.request_ids_seen`` (a list) with Nova's request ids. If the
    block raises, the record is completed ``failed`` with Nova's message and request id,
    and the exception goes on.
    """
    record = begin(who, action, **fields)
    record.request_ids_seen = []
    try:
        yield record
    except Exception as error:
        _complete_quietly(record, AuditRecord.FAILED, detail=describe_error(error),
                          request_ids=record.request_ids_seen + [_error_request_id(error)])
        raise
    _complete_quietly(record, AuditRecord.SUCCEEDED, request_ids=record.request_ids_seen)


def _complete_quietly(record, outcome, **kwargs):
    """Completing must not turn a Nova success into an error page: the record then stays
    pending, which the history shows as such."""
    try:
        audit.complete(record, outcome, **kwargs)
    except Exception:
        LOG.exception("Audit %s: could not record outcome %s", record.pk, outcome)
