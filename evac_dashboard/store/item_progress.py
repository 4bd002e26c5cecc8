"""What the progress page learnt about items: the stages seen and each attempt's outcome.

Written from polls (several observers may write the same thing: the writes are idempotent)
and only for items whose value changed, so a poll where nothing moved writes nothing.
"""
from django.db import transaction

from evac_dashboard.models import EvacuationItem as Item

OUTCOME_FIELDS = ("outcome_attempt", "outcome_state", "outcome_detail", "outcome_host",
                  "outcome_status", "outcome_migration_id", "outcome_migration_status",
                  "outcome_fault", "outcome_at")


def save_stages(items):
    """Store ``stages``/``stages_attempt`` of these (changed) items."""
    if items:
        Item.objects.bulk_update(items, ["stages", "stages_attempt"], batch_size=500)


def save_outcomes(items):
    """Store the outcome fields of these items, unless that attempt is already recorded
    (another observer was first) or the item moved on to a later attempt (a retry)."""
    with transaction.atomic():
        for item in items:
            Item.objects.filter(pk=item.pk, attempt=item.outcome_attempt).exclude(
                outcome_attempt=item.outcome_attempt).update(
                **{name: getattr(item, name) for name in OUTCOME_FIELDS})


def save_outcome_migration_status(items):
    """Nova's later status of the recorded migration (``done`` -> ``completed``: the
    failed host came back and cleaned up)."""
    if items:
        Item.objects.bulk_update(items, ["outcome_migration_status"], batch_size=500)
