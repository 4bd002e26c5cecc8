"""Our copies of Nova's evacuation migrations (``NovaEvacuation``) and what follows from them:
whose each is, the record of each external one, and outcomes kept in step with Nova.

Nova forgets the migrations of deleted servers; these rows are what the history keeps. Several
Horizon nodes may copy the same migration at once: unique keys and ``get_or_create`` make the
first one win and the others carry on.
"""
import logging

from django.db import IntegrityError
from django.db import models as db_models
from django.db import transaction
from django.utils import timezone

from evac_dashboard.models import AuditRecord as Record
from evac_dashboard.models import EvacuationItem
from evac_dashboard.models import NovaEvacuation
from evac_dashboard.rules import external

LOG = logging.getLogger(__name__)

ACTION_READ_ATTEMPTS = 3
CHUNK = 500   # ids per IN (...) query


def newest_update():
    """Nova's ``updated_at`` of the newest copy, or None."""
    return NovaEvacuation.objects.aggregate(newest=db_models.Max("updated_at"))["newest"]


def store_migrations(migrations):
    """Insert new migrations and update known ones: ``(new, changed)``, ``changed`` the rows
    whose status, destination or times changed (new ones included)."""
    now = timezone.now()
    new, changed = 0, []
    keys = [m.key for m in migrations]
    known = {}
    for start in range(0, len(keys), CHUNK):
        for row in NovaEvacuation.objects.filter(migration_key__in=keys[start:start + CHUNK]):
            known[row.migration_key] = row
    for migration in migrations:
        row = known.get(migration.key)
        values = {"status": migration.status, "dest_compute": migration.dest,
                  "updated_at": migration.updated_at, "last_seen_at": now}
        if row is None:
            row = NovaEvacuation(
                migration_key=migration.key, migration_id=migration.id,
                instance_id=migration.instance_id, source_compute=migration.source,
                created_at=migration.created_at, user_id=migration.user_id,
                project_id=migration.project_id, first_seen_at=now, **values)
            try:
                with transaction.atomic():
                    row.save()
            except IntegrityError:  # another Horizon node stored it first
                continue
            known[migration.key] = row
            new += 1
            changed.append(row)
            continue
        updates = {}
        if (row.status, row.dest_compute, row.updated_at) != (
                migration.status, migration.dest, migration.updated_at):
            changed.append(row)
            updates.update(values)
        if migration.user_id and not row.user_id:
            updates.update(user_id=migration.user_id, project_id=migration.project_id)
        if not updates:
            continue  # unchanged: no write (clouds before 2.59 list every record each time)
        _update(row, **updates)
    return new, changed


def _update(row, **updates):
    NovaEvacuation.objects.filter(pk=row.pk).update(**updates)
    for name, value in updates.items():
        setattr(row, name, value)


def undecided(limit):
    """Copies not yet known to be the panel's or external, newest first."""
    return list(NovaEvacuation.objects.filter(match_rule="").order_by("-created_at")[:limit])


def as_migration(row):
    return external.Migration(
        key=row.migration_key, id=row.migration_id,
        uuid=None if row.migration_key.startswith("id-") else row.migration_key,
        instance_id=row.instance_id, source=row.source_compute, dest=row.dest_compute,
        status=row.status, created_at=row.created_at, updated_at=row.updated_at,
        user_id=row.user_id, project_id=row.project_id)


def evidence(instance_ids):
    """What the matching rule weighs for these instances: ``(items, siblings)``, the panel's
    items and the known migrations, each by instance id."""
    items, siblings = {}, {}
    instance_ids = sorted(set(instance_ids))
    for start in range(0, len(instance_ids), CHUNK):
        chunk = instance_ids[start:start + CHUNK]
        for item in EvacuationItem.objects.filter(instance_id__in=chunk):
            items.setdefault(item.instance_id, []).append(external.PanelItem.from_item(item))
        for row in NovaEvacuation.objects.filter(instance_id__in=chunk):
            siblings.setdefault(row.instance_id, []).append(as_migration(row))
    return items, siblings


def mark_panel(row, decision):
    """The panel's own evacuation: tie the copy to its item and batch."""
    _update(row, item_id=decision.item.item_id, batch_id=decision.item.batch_id,
            match_rule=decision.rule)


def mark_external(row):
    """Made outside the dashboard: tie the copy to its record (created once per migration,
    whichever Horizon node gets there first)."""
    _update(row, record=_external_record(row), match_rule=external.EXTERNAL)


def _instance_name(row):
    for item in EvacuationItem.objects.filter(instance_id=row.instance_id).exclude(
            instance_name="").order_by("-created_at")[:1]:
        return item.instance_name
    return ""


def _external_record(row):
    outcome = external.outcome_for_status(row.status)
    values = dict(
        origin=Record.ORIGIN_EXTERNAL, action=Record.EVACUATE,
        created_at=row.created_at or row.first_seen_at, user_id=row.user_id,
        project_id=row.project_id, source_host=row.source_compute,
        target_host=row.dest_compute,
        instances=[{"id": row.instance_id, "name": _instance_name(row)}],
        instance_count=1, options={}, microversion="",
        request_ids=[row.request_id] if row.request_id else [],
        outcome=outcome,
        completed_at=row.updated_at if outcome != Record.IN_PROGRESS else None,
        detail=_external_detail(row),
        nova_summary=external.summarize([row.status]))
    try:
        with transaction.atomic():
            record, _created = Record.objects.get_or_create(migration_key=row.migration_key,
                                                            defaults=values)
    except IntegrityError:
        record = Record.objects.get(migration_key=row.migration_key)
    return record


def _external_detail(row):
    return "Made outside this dashboard. Nova migration %s: %s%s" % (
        row.migration_key, row.status or "unknown",
        "" if row.action_read_at or not row.action_error else
        " (instance action not read: %s)" % row.action_error)


def refresh_outcomes(changed):
    """Follow Nova: external records take their migration's status; panel evacuation
    records get the summary of their batch's migrations."""
    batch_ids = set()
    for row in changed:
        row.refresh_from_db()
        if row.record_id:
            outcome = external.outcome_for_status(row.status)
            Record.objects.filter(pk=row.record_id).update(
                outcome=outcome, target_host=row.dest_compute,
                completed_at=row.updated_at if outcome != Record.IN_PROGRESS else None,
                nova_summary=external.summarize([row.status]), detail=_external_detail(row))
        if row.batch_id:
            batch_ids.add(row.batch_id)
    for batch_id in batch_ids:
        statuses = NovaEvacuation.objects.filter(batch_id=batch_id).values_list("status",
                                                                                flat=True)
        Record.objects.filter(batch_id=batch_id, action__in=(
            Record.EVACUATE, Record.HOST_EVACUATE)).update(
            nova_summary=external.summarize(statuses))


# ------------------------------------------------------------------------ instance actions

def unread(records, limit):
    """Copies behind the external ``records`` whose instance action was never read (and
    may still be), at most ``limit``."""
    keys = [r.migration_key for r in records if r.is_external and r.migration_key]
    return list(NovaEvacuation.objects.filter(
        migration_key__in=keys, action_read_at__isnull=True,
        action_attempts__lt=ACTION_READ_ATTEMPTS))[:max(0, limit)]


def action_not_read(row, message):
    """Reading the instance action failed; after ACTION_READ_ATTEMPTS the window rule
    decides without it."""
    _update(row, action_attempts=row.action_attempts + 1, action_error=message[:250])


def action_read(row, action, now=None):
    """Keep what Nova's instance action says (``action``, or None when it has none)."""
    updates = {"action_attempts": row.action_attempts + 1,
               "action_read_at": now or timezone.now(), "action_error": ""}
    if action:
        updates["request_id"] = action.get("request_id") or ""
        if action.get("user_id"):
            updates["user_id"] = action["user_id"]
        if action.get("project_id"):
            updates["project_id"] = action["project_id"]
    else:
        updates["action_error"] = "no evacuate action found"
    _update(row, **updates)
    if row.record_id:
        record_updates = {"detail": _external_detail(row)}
        if row.request_id:
            record_updates["request_ids"] = [row.request_id]
        if row.user_id:
            record_updates["user_id"] = row.user_id
        if row.project_id:
            record_updates["project_id"] = row.project_id
        Record.objects.filter(pk=row.record_id).update(**record_updates)


# ---------------------------------------------------------------------------------- names

def name_user(user_id, name):
    """Give every record of ``user_id`` without a name this Keystone name."""
    return Record.objects.filter(user_id=user_id, user_name="").update(user_name=name)


def name_project(project_id, name):
    return Record.objects.filter(project_id=project_id, project_name="").update(
        project_name=name)


def refreshed(records):
    """``records`` read again (same order; a record gone meanwhile stays as it was)."""
    fresh = Record.objects.in_bulk([r.pk for r in records])
    return [fresh.get(r.pk, r) for r in records]
