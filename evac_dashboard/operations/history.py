"""The History page's use cases: a page of records with what Nova knows filled in, one
record with its migrations, and the filtered set for the CSV export.

Nothing here edits or deletes a record; the page only copies in from Nova what it lacks.
"""
from dataclasses import dataclass
import logging

from evac_dashboard.models import AuditRecord
from evac_dashboard.operations import external_sync
from evac_dashboard.store import audit
from evac_dashboard.store import history

LOG = logging.getLogger(__name__)


@dataclass
class Page:
    records: list
    has_prev: bool
    has_more: bool
    # Why the evacuations made outside the dashboard could not be read from Nova, or "".
    sync_problem: str = ""


def page(request, history_filter, marker=None, prev_marker=None, size=20):
    """Copy in Nova's evacuations (throttled), then one page of records, newest first,
    their external entries' users and request ids and Keystone names filled in. Nova
    failing does not hide what was recorded: ``sync_problem`` says what went wrong."""
    problem = ""
    try:
        external_sync.sync_external(request)
    except Exception as error:
        LOG.warning("Evacuations made outside the dashboard not read: %s", error)
        problem = str(error) or type(error).__name__
    records, has_prev, has_more = history.page(history_filter, marker=marker,
                                               prev_marker=prev_marker, size=size)
    return Page(external_sync.complete_for_display(request, records), has_prev, has_more,
                problem)


def export(history_filter):
    """Every record matching ``history_filter``, newest first, streamed from the database,
    options without any password."""
    for record in history.query(history_filter).iterator(chunk_size=500):
        record.options = audit.safe_options(record.options) if record.options else {}
        yield record


@dataclass
class Detail:
    record: object
    options: dict            # without any password (``password_set`` says if one was)
    migrations: list         # our copies of Nova's migrations behind the record
    related: list            # the other records of the same batch
    batch_exists: bool


def detail(record_id):
    """One record and what goes with it, or None."""
    record = history.record(record_id)
    if record is None:
        return None
    return Detail(record=record, options=audit.safe_options(record.options),
                  migrations=history.nova_evacuations_for(record),
                  related=history.related(record),
                  batch_exists=history.batch_exists(record.batch_id))


def retention_days():
    return history.retention_days()


FENCES = (AuditRecord.FENCE, AuditRecord.FENCE_OVERRIDE)
# What a fence does to Nova, and what undoes it after repair.
AFTER_A_FENCE = FENCES + (AuditRecord.FORCE_DOWN, AuditRecord.DISABLE, AuditRecord.ENABLE,
                          AuditRecord.UNSET_FORCE_DOWN, AuditRecord.POWER_ON)


def last_fence(host, limit=12):
    """The host's latest fence and the service changes recorded since, oldest first (the
    host's page shows them: the steps outlive the messages, whoever fenced it); [] when
    the host was never fenced from the dashboard."""
    records = history.host_records(host, AFTER_A_FENCE, limit)
    for index, record in enumerate(records):
        if record.action in FENCES:
            return list(reversed(records[:index + 1]))
    return []
