"""Reading the audit log for the History page and its export, and the retention.

Records are never edited here; retention is the only way they go, in bulk, from
``manage.py evac_prune_audit`` (setting EVAC_AUDIT_RETENTION_DAYS, default 365).
"""
from datetime import timedelta

from django.db import models as db_models
from django.db import transaction
from django.utils import timezone

from evac_dashboard import conf
from evac_dashboard.models import AuditRecord as Record
from evac_dashboard.models import EvacuationBatch
from evac_dashboard.models import NovaEvacuation
from evac_dashboard.rules.history_filter import HistoryFilter, codes_matching
from evac_dashboard.store.audit import ACTION_LABELS, ORIGIN_LABELS, OUTCOME_LABELS


# The longest host or user name a record holds: a longer criterion matches no record, and
# is not sent to the database (SQLite refuses a LIKE pattern over 50,000 bytes).
LONGEST_NAME = Record._meta.get_field("source_host").max_length


def query(history_filter=None):
    """Records matching ``history_filter``, newest first (a lazy queryset)."""
    records = Record.objects.all()
    f = history_filter or HistoryFilter()
    if len(f.host) > LONGEST_NAME or len(f.user) > LONGEST_NAME:
        return records.none()
    if f.host:
        records = records.filter(db_models.Q(source_host__iexact=f.host)
                                 | db_models.Q(target_host__iexact=f.host))
    if f.user:
        records = records.filter(db_models.Q(user_id=f.user)
                                 | db_models.Q(user_name__icontains=f.user))
    if f.action:
        records = records.filter(action__in=codes_matching(f.action, ACTION_LABELS))
    if f.outcome:
        records = records.filter(outcome__in=codes_matching(f.outcome, OUTCOME_LABELS))
    if f.origin:
        records = records.filter(origin__in=codes_matching(f.origin, ORIGIN_LABELS))
    if f.since:
        records = records.filter(created_at__gte=f.since)
    if f.until:
        records = records.filter(created_at__lte=f.until)
    return records.order_by("-created_at", "-id")


def host_records(host, actions, limit):
    """The newest ``limit`` records of ``actions`` on ``host``, newest first."""
    return list(Record.objects.filter(source_host=host, action__in=actions)
                .order_by("-created_at", "-id")[:limit])


def page(history_filter=None, marker=None, prev_marker=None, size=20):
    """One page of records, newest first: ``(records, has_prev, has_more)``.

    ``marker``: the id of the last record of the previous page (older records follow);
    ``prev_marker``: the id of the first record of the next page (newer records, going
    back). Keyset paging on (created_at, id): stable while records are added.
    """
    records = query(history_filter)
    size = max(1, int(size))
    anchor_id = prev_marker or marker
    anchor = None
    if anchor_id:
        anchor = Record.objects.filter(pk=_int_or_none(anchor_id)).first()
    if anchor is None:
        rows = list(records[:size + 1])
        return rows[:size], False, len(rows) > size
    newer = (db_models.Q(created_at__gt=anchor.created_at)
             | db_models.Q(created_at=anchor.created_at, id__gt=anchor.pk))
    older = (db_models.Q(created_at__lt=anchor.created_at)
             | db_models.Q(created_at=anchor.created_at, id__lt=anchor.pk))
    if prev_marker:
        rows = list(records.filter(newer).order_by("created_at", "id")[:size + 1])
        has_prev = len(rows) > size
        return list(reversed(rows[:size])), has_prev, True
    rows = list(records.filter(older)[:size + 1])
    return rows[:size], True, len(rows) > size


def _int_or_none(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def record(record_id):
    """The record, or None."""
    return Record.objects.filter(pk=_int_or_none(record_id)).first()


def related(record):
    """The other records of ``record``'s batch, oldest first."""
    if not record.batch_id:
        return []
    return list(Record.objects.filter(batch_id=record.batch_id).exclude(pk=record.pk)
                .order_by("created_at"))


def batch_exists(batch_id):
    return bool(batch_id) and EvacuationBatch.objects.filter(pk=batch_id).exists()


def nova_evacuations_for(record):
    """Our copies of Nova's migrations behind ``record``: its batch's, or its own."""
    if record.migration_key:
        return list(NovaEvacuation.objects.filter(migration_key=record.migration_key))
    if record.batch_id:
        return list(NovaEvacuation.objects.filter(batch_id=record.batch_id)
                    .order_by("-created_at"))
    return []


# ------------------------------------------------------------------------------ retention

def retention_days():
    """EVAC_AUDIT_RETENTION_DAYS (default 365); None or 0 keeps records forever."""
    return conf.audit_retention_days()


def retention_cutoff(days=None):
    """Records created before this are past the retention (None: kept forever)."""
    days = retention_days() if days is None else days
    if not days:
        return None
    return timezone.now() - timedelta(days=days)


def prune(days=None, dry_run=False):
    """Delete records (and our copies of Nova's migrations) older than the retention.
    Returns ``(records, migrations)`` counts (what would go with ``dry_run``)."""
    cutoff = retention_cutoff(days)
    if cutoff is None:
        return 0, 0
    records = Record.objects.filter(created_at__lt=cutoff)
    migrations = NovaEvacuation.objects.filter(
        db_models.Q(created_at__lt=cutoff)
        | db_models.Q(created_at__isnull=True, first_seen_at__lt=cutoff))
    if dry_run:
        return records.count(), migrations.count()
    with transaction.atomic():
        migrations_deleted = migrations.delete()[0]
        # QuerySet.delete, not Record.delete (which refuses): retention is the only way.
        records_deleted = records.delete()[0]
    return records_deleted, migrations_deleted
