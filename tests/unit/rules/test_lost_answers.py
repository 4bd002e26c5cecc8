"""Did Nova act on an evacuate whose answer was lost? (``rules.lost_answers``)"""
from datetime import datetime, timedelta, timezone

from evac_dashboard.rules import lost_answers as rules
from tests.unit.factories import action, nova_time, rule_migration, rule_server

SENT = datetime(2026, 11, 23, 3, 10, tzinfo=timezone.utc)
SETTLE = rules.settle_seconds(30)


def decide(now_after=120, **kwargs):
    return rules.decide(SENT, SENT + timedelta(seconds=now_after), SETTLE, **kwargs)


def test_settle_is_twice_the_time_the_answer_was_waited_for():
    assert rules.settle_seconds(30) == 60 and rules.settle_seconds(0.3) == 0.6


def test_a_record_since_the_send_is_found_whatever_its_status():
    for status in ("accepted", "pre-migrating", "done", "error", "failed"):
        found = decide(migrations=[rule_migration(status, created_at=nova_time(SENT))])
        assert (found.verdict, found.found_id) == (rules.FOUND, "mig-" + status)


def test_an_action_is_found_by_request_id_or_by_its_time():
    late = action("uuid-vm1", request_id="req-1", created=SENT + timedelta(seconds=1))
    assert decide(actions=[late]).verdict == rules.FOUND
    old = action("uuid-vm1", request_id="req-2", created=SENT - timedelta(hours=1))
    assert decide(actions=[old]).verdict == rules.ABSENT
    assert decide(actions=[old], request_id="req-2").found_id == "action:req-2"
    other = dict(late, action="reboot")
    assert decide(actions=[other]).verdict == rules.ABSENT


def test_clock_skew_errs_towards_found_but_an_earlier_attempt_s_record_is_not_ours():
    skewed = rule_migration("accepted", created_at=nova_time(SENT - timedelta(seconds=90)))
    assert decide(migrations=[skewed]).verdict == rules.FOUND
    older = rule_migration("accepted", created_at=nova_time(SENT - timedelta(minutes=10)))
    assert decide(migrations=[older]).verdict == rules.ABSENT
    assert decide(migrations=[skewed], earlier_keys={"mig-accepted"}).verdict == rules.ABSENT


def test_no_trace_proves_nothing_until_the_request_cannot_be_in_nova_api_any_more():
    assert decide(now_after=SETTLE - 1).verdict == rules.WAIT
    assert decide(now_after=SETTLE).verdict == rules.ABSENT
    rebuilding = rule_server(status="REBUILD", task_state="rebuilding")
    assert decide(now_after=3600, server=rebuilding).verdict == rules.WAIT
    assert decide(now_after=3600, server=rule_server()).verdict == rules.ABSENT
    assert decide(now_after=1, deleted=True).verdict == rules.ABSENT
