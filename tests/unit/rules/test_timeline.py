"""The recovery timeline's phases and where the time went (``rules.timeline``)."""
from datetime import datetime, timedelta, timezone

from evac_dashboard.rules import timeline as rules

T0 = datetime(2026, 12, 3, 8, 0, tzinfo=timezone.utc)


def at(seconds):
    return T0 + timedelta(seconds=seconds)


def item(n, **kwargs):
    values = dict(item_id=n, instance_id="i-%d" % n, name="vm%d" % n, position=n)
    values.update(kwargs)
    return rules.ItemFacts(**values)


def done(n, queued_at=None, sent=60, answered=63, ended=88, **kwargs):
    return item(n, submit_state="submitted", submitting_at=at(sent),
                submitted_at=at(answered), outcome_state="done", outcome_at=at(ended),
                outcome_host="cmp2", stages=("submitted", "rebuilding", "done"), **kwargs)


def facts(items=(), host_records=(), batch_records=(), created=59, now=200, active=False,
          finished=None):
    return rules.BatchFacts(
        batch_id="b-1", source_host="cmp1", state="submitting" if active else "finished",
        created_at=at(created), now=at(now), active=active,
        finished_at=at(finished) if finished is not None else None,
        host_records=tuple(host_records), batch_records=tuple(batch_records),
        items=tuple(items))


FENCE = rules.Record("fence", at(0), at(8), "succeeded", "admin")
FORCE = rules.Record("force_down", at(10), at(11), "succeeded", "admin")


def lane(timeline, kind):
    return [entry for entry in timeline.lanes if entry.kind == kind]


def test_a_whole_recovery_fence_force_down_send_rebuild():
    found = rules.derive(facts([done(1)], [FENCE, FORCE], finished=63))
    assert found.final and found.start == at(0) and found.end == at(88)
    assert found.total_seconds == 88
    assert dict(found.breakdown) == {"fencing": 8, "waiting": 48 + 2, "forcing_down": 1,
                                     "sending": 4, "rebuilding": 25}
    assert [p for p, _s in found.breakdown] == ["fencing", "waiting", "forcing_down",
                                                "sending", "rebuilding"]
    assert sum(s for _p, s in found.breakdown) == found.total_seconds
    host, = lane(found, rules.LANE_HOST)
    assert [(s.phase, s.seconds) for s in host.segments] == [("fencing", 8),
                                                            ("forcing_down", 1)]
    instance, = lane(found, rules.LANE_INSTANCE)
    assert [(s.phase, s.seconds) for s in instance.segments] == [
        ("queued", 1), ("sending", 3), ("rebuilding", 25)]
    assert instance.end == rules.END_DONE and instance.host == "cmp2"
    assert instance.marks[0].at == at(88)
    batch, = lane(found, rules.LANE_BATCH)
    assert [m.kind for m in batch.marks] == ["created", "finished"]


def test_sending_wins_over_rebuilding_while_some_still_wait():
    items = [done(1, sent=60, answered=61, ended=90), done(2, sent=70, answered=71, ended=80)]
    found = rules.derive(facts(items, created=60))
    assert dict(found.breakdown) == {"sending": 11, "rebuilding": 19}


def test_a_running_batch_ends_now_and_is_not_final():
    items = [done(1), item(2, submit_state="submitting", submitting_at=at(150))]
    found = rules.derive(facts(items, active=True, now=160))
    assert not found.final and found.end == at(160)
    second = lane(found, rules.LANE_INSTANCE)[1]
    assert second.end == "" and second.marks == ()
    assert [(s.phase, s.running) for s in second.segments] == [("queued", False),
                                                               ("sending", True)]
    assert second.segments[1].end == at(160)


def test_a_rebuild_still_going_runs_to_now():
    found = rules.derive(facts([item(1, submit_state="submitted", submitting_at=at(60),
                                     submitted_at=at(61))], now=100))
    segment = lane(found, rules.LANE_INSTANCE)[0].segments[-1]
    assert (segment.phase, segment.running, segment.end) == ("rebuilding", True, at(100))
    assert not found.final


def test_refused_cancelled_and_failed_endings():
    items = [item(1, submit_state="submit_failed", submitting_at=at(60), failed_at=at(61)),
             item(2, submit_state="cancelled", cancelled_at=at(65)),
             item(3, submit_state="submitted", submitting_at=at(60), submitted_at=at(61),
                  outcome_state="failed", outcome_at=at(70))]
    found = rules.derive(facts(items))
    ends = [entry.end for entry in lane(found, rules.LANE_INSTANCE)]
    assert ends == [rules.END_REFUSED, rules.END_CANCELLED, rules.END_FAILED]
    assert found.final and found.end == at(70)
    cancelled = lane(found, rules.LANE_INSTANCE)[1]
    assert [(s.phase, s.seconds) for s in cancelled.segments] == [("queued", 6)]


def test_answer_lost_then_found_in_nova():
    found = rules.derive(facts([item(1, submit_state="submitted", submitting_at=at(60),
                                     answer_lost_at=at(90), submitted_at=at(120),
                                     outcome_state="done", outcome_at=at(150))]))
    segments = lane(found, rules.LANE_INSTANCE)[0].segments
    assert [(s.phase, s.seconds) for s in segments] == [
        ("queued", 1), ("sending", 30), ("answer_lost", 30), ("rebuilding", 30)]


def test_a_retry_waits_from_the_retry_record():
    retry = rules.Record("retry", at(300), at(301), "accepted", "bob")
    found = rules.derive(facts([done(1, sent=305, answered=306, ended=320, attempt=2)],
                               batch_records=[retry]))
    queued = lane(found, rules.LANE_INSTANCE)[0].segments[0]
    assert (queued.phase, queued.start, queued.end) == ("queued", at(300), at(305))
    batch, = lane(found, rules.LANE_BATCH)
    assert [(m.kind, m.detail) for m in batch.marks] == [("created", ""), ("retry", "bob")]


def test_a_pending_host_record_runs_until_now():
    fence = rules.Record("fence", at(0), None, "pending")
    found = rules.derive(facts([], [fence], now=30))
    segment, = lane(found, rules.LANE_HOST)[0].segments
    assert segment.running and segment.end == at(30)
    assert not found.final


def test_an_instant_override_has_no_length():
    override = rules.Record("fence_override", at(5), at(5), "succeeded")
    found = rules.derive(facts([done(1)], [override]))
    segment, = lane(found, rules.LANE_HOST)[0].segments
    assert segment.seconds == 0 and found.start == at(5)


def test_host_window_after_the_host_was_restored_and_after_the_previous_batch():
    created = at(3600)
    restored = [rules.Record("unset_force_down", at(100)), rules.Record("enable", at(200))]
    assert rules.host_window(created, restored) == at(200)
    assert rules.host_window(created, restored, previous_batch_at=at(300)) == at(300)
    assert rules.host_window(created, []) == created - rules.LOOKBACK
    later = [rules.Record("enable", at(4000))]  # after the batch: not a bound
    assert rules.host_window(created, later) == created - rules.LOOKBACK


def test_breakdown_of_nothing_and_gaps():
    assert rules.breakdown([], at(5), at(5)) == ()
    assert rules.breakdown([], at(0), at(10)) == (("waiting", 10.0),)


def test_ticks_are_round_and_few():
    assert rules.ticks(88) == [0, 15, 30, 45, 60, 75]
    assert rules.ticks(5) == [0, 1, 2, 3, 4, 5]
    assert len(rules.ticks(100000)) <= 9


def test_a_thousand_instances_are_derived_quickly():
    import time

    items = [done(n, sent=60 + n * 0.1, answered=61 + n * 0.1, ended=100 + n * 0.2)
             for n in range(1000)]
    started = time.monotonic()
    found = rules.derive(facts(items, [FENCE, FORCE]))
    assert time.monotonic() - started < 3
    assert len(found.lanes) == 1002 and found.final
    assert abs(sum(s for _p, s in found.breakdown) - found.total_seconds) < 1e-6


def test_the_time_before_the_first_step_from_novas_service_record():
    fence = rules.Record("fence", at(0), at(8), "succeeded", "admin", nova_state="down",
                         heartbeat=at(-90))
    found = rules.derive(facts([done(1)], [fence, FORCE], finished=63))
    host, = lane(found, rules.LANE_HOST)
    assert [(s.phase, s.start, s.seconds) for s in host.segments[:2]] == [
        ("silent", at(-90), 60), ("seen_down", at(-30), 30)]
    assert [(m.kind, m.at) for m in host.marks] == [("last_heartbeat", at(-90)),
                                                    ("seen_down", at(-30))]
    assert found.start == at(-90) and found.total_seconds == 178
    assert dict(found.breakdown)["silent"] == 60 and dict(found.breakdown)["seen_down"] == 30
    assert sum(s for _p, s in found.breakdown) == found.total_seconds


def test_fenced_before_nova_noticed_only_the_silence_counts():
    fence = rules.Record("fence", at(0), at(8), "succeeded", "admin", nova_state="up",
                         heartbeat=at(-7))
    later = rules.Record("host_evacuate", at(12), None, "pending", "admin",
                         nova_state="down")  # forced down by the fence: no heartbeat kept
    found = rules.derive(facts([done(1)], [fence, FORCE], [later], finished=63))
    host, = lane(found, rules.LANE_HOST)
    assert [(s.phase, s.seconds) for s in host.segments][0] == ("silent", 7)
    assert [m.kind for m in host.marks] == ["last_heartbeat"]
    assert found.start == at(-7)


def test_a_heartbeat_long_before_the_incident_is_left_off():
    fence = rules.Record("fence", at(0), at(8), "succeeded", "admin", nova_state="down",
                         heartbeat=T0 - rules.LOOKBACK - timedelta(seconds=1))
    found = rules.derive(facts([done(1)], [fence, FORCE], finished=63))
    host, = lane(found, rules.LANE_HOST)
    assert host.marks == () and found.start == at(0)


def test_host_signs_keep_the_heartbeat_only_while_it_is_one():
    up = {"state": "up", "status": "enabled", "forced_down": False,
          "updated_at": "2026-12-03T07:58:30.000000"}
    assert rules.host_signs(up) == {"nova_state": "up",
                                    "nova_last_heartbeat": "2026-12-03T07:58:30.000000"}
    assert rules.host_signs(dict(up, forced_down=True)) == {"nova_state": "up"}
    assert rules.host_signs(dict(up, status="disabled")) == {"nova_state": "up"}
    assert rules.host_signs(None) == {}
    state, heard = rules.record_signs(rules.host_signs(up))
    assert state == "up" and heard == at(-90)
    assert rules.record_signs({"nova_last_heartbeat": "not a time"}) == ("", None)
