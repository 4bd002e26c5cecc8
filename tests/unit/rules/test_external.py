"""The matching rule: which of Nova's evacuation migrations did the panel make?"""
from datetime import datetime, timedelta, timezone

from evac_dashboard.rules import external

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc)


def item(instance="i-1", state="submitted", request_id="req-panel", sent=T0,
         answered=T0 + timedelta(seconds=1), found=None, error_status=None):
    return external.PanelItem(item_id=1, batch_id="b-1", instance_id=instance,
                              submit_state=state, request_id=request_id,
                              found_migration_id=found, sent_at=sent, answered_at=answered,
                              error_status=error_status)


def mig(created, instance="i-1", key="m-1", mid=7):
    return external.Migration(key=key, id=mid, uuid=key, instance_id=instance, source="cmp1",
                              dest="cmp2", status="done", created_at=created,
                              updated_at=created, user_id="", project_id="")


NOW = T0 + timedelta(hours=1)


# ------------------------------------------------------------------------------ the rule

def test_window_matches_without_reading_nova():
    decision = external.decide(mig(T0 + timedelta(seconds=1)), [item()], NOW)
    assert (decision.kind, decision.rule) == (external.PANEL, external.RULE_WINDOW)


def test_request_id_matches_even_outside_the_window():
    decision = external.decide(mig(T0 + timedelta(hours=3)), [item()], NOW,
                               request_id="req-panel", action_read=True)
    assert (decision.kind, decision.rule) == (external.PANEL, external.RULE_REQUEST_ID)


def test_adopted_migration_of_a_resumed_batch_is_the_panels():
    decision = external.decide(mig(T0 - timedelta(days=1)), [item(found="m-1")], NOW)
    assert decision.rule == external.RULE_ADOPTED


def test_other_instance_or_later_evacuation_is_external():
    assert external.decide(mig(T0, instance="i-2"), [item()], NOW).kind == external.EXTERNAL
    later = mig(T0 + timedelta(hours=2))
    # An item of the instance has a request id: ask Nova before calling it external.
    assert external.decide(later, [item()], NOW).kind == external.UNDECIDED
    assert external.decide(later, [item()], NOW, request_id="req-cli",
                           action_read=True).kind == external.EXTERNAL
    assert external.decide(later, [], NOW).kind == external.EXTERNAL


def test_refused_items_do_not_claim_migrations_but_unanswered_ones_may():
    created = T0 + timedelta(seconds=1)
    refused = item(state="submit_failed", request_id="req-x", error_status=400)
    assert external.decide(mig(created), [refused], NOW, request_id="req-cli",
                           action_read=True).kind == external.EXTERNAL
    timed_out = item(state="submit_failed", request_id=None, error_status=None)
    assert external.decide(mig(created), [timed_out], NOW).kind == external.PANEL


def test_in_flight_item_window_is_open_until_now():
    in_flight = item(state="submitting", request_id=None, answered=None)
    assert external.decide(mig(NOW - timedelta(seconds=5)), [in_flight], NOW).kind == \
        external.PANEL


def test_two_evacuations_in_one_window_are_told_apart_by_request_id():
    ours, theirs = mig(T0, key="m-1"), mig(T0 + timedelta(seconds=2), key="m-2", mid=8)
    assert external.decide(theirs, [item()], NOW, siblings=[ours, theirs]).kind == \
        external.UNDECIDED
    assert external.decide(theirs, [item()], NOW, request_id="req-cli", action_read=True,
                           siblings=[ours, theirs]).kind == external.EXTERNAL
    assert external.decide(ours, [item()], NOW, request_id="req-panel", action_read=True,
                           siblings=[ours, theirs]).kind == external.PANEL


def test_summaries():
    assert external.summarize(["done", "completed", "error", "accepted"]) == {
        "done": 2, "failed": 1, "running": 1}
    assert external.describe_summary({"done": 2, "failed": 0, "running": 1}) == \
        "2 done, 1 running"
    assert external.outcome_for_status("completed") == "succeeded"
    assert external.outcome_for_status("pre-migrating") == "in_progress"
    assert external.migration_key({"id": 5}) == "id-5"


def test_an_item_whose_answer_was_lost_still_claims_its_migration():
    """Sent, answer lost (``unknown``): Nova may well have it; the History sync must not
    label our own evacuation as made outside the dashboard."""
    lost = item(state="unknown", request_id=None, answered=None)
    decision = external.decide(mig(T0 + timedelta(seconds=1)), [lost], NOW)
    assert decision.kind == external.PANEL
