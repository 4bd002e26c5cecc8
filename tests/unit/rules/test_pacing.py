"""The sending window (``rules.pacing``): bounds, growth while rebuild times stay flat, cuts
when they rise or on errors, what counts as in flight, and the order items are taken in."""
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from evac_dashboard.rules import pacing


def record(instance_id, status, created="2026-12-03T08:00:00Z",
           updated="2026-12-03T08:00:05Z", record_id=1):
    return {"id": record_id, "uuid": "m-%s-%d" % (instance_id, record_id),
            "instance_uuid": instance_id, "status": status, "created_at": created,
            "updated_at": updated}


# ------------------------------------------------------------------------- the window

def test_bounds_are_normalized_and_the_start_clamped():
    assert pacing.Bounds(2, 4, 16).normalized() == pacing.Bounds(2, 4, 16)
    assert pacing.Bounds(0, 9, 5).normalized() == pacing.Bounds(1, 5, 5)
    assert pacing.Bounds(6, 1, 3).normalized() == pacing.Bounds(6, 6, 6)
    assert pacing.Window(pacing.Bounds(2, 4, 16)).size == 4


def test_room_is_what_the_window_leaves():
    window = pacing.Window(pacing.Bounds(2, 4, 16))
    assert window.room(0) == 4
    assert window.room(3) == 1
    assert window.room(4) == 0
    assert window.room(9) == 0  # more in flight than allowed (after a cut): none


def test_grows_by_one_per_round_while_rebuild_times_stay_flat():
    window = pacing.Window(pacing.Bounds(2, 4, 16))
    for _ in range(4):
        window.completed(10)
    assert window.size == 5
    for _ in range(5):
        window.completed(10.5)
    assert window.size == 6


def test_shrinks_when_rebuild_times_rise():
    window = pacing.Window(pacing.Bounds(2, 4, 16))
    for _ in range(4):
        window.completed(10)
    assert window.size == 5
    for _ in range(5):
        window.completed(40)  # 5 * (1 - 10/40) = 3.75 rebuilds waiting in Nova
    assert window.size == 3


def test_holds_when_a_little_slower():
    window = pacing.Window(pacing.Bounds(2, 4, 16))
    for _ in range(4):
        window.completed(10)
    for _ in range(5):
        window.completed(15)  # 5 * (1 - 10/15) = 1.67: between the two thresholds
    assert window.size == 5


def test_errors_cut_once_per_round():
    window = pacing.Window(pacing.Bounds(2, 8, 16))
    window.failed()
    assert window.size == 6
    window.failed()
    window.failed()
    assert window.size == 6  # the same congested moment
    for _ in range(6):
        window.completed(5)
    assert window.size == 7  # a flat round grew it
    window.failed()
    assert window.size == 5


def test_never_leaves_its_bounds():
    window = pacing.Window(pacing.Bounds(3, 3, 4))
    for _ in range(10):
        window.failed()
        for _ in range(4):
            window.completed(1)
    assert window.size == 4
    for _ in range(10):
        window.failed()
        for _ in range(window.size):
            window.completed(1000)
    assert window.size == 3


def test_nonsense_durations_are_not_counted():
    window = pacing.Window(pacing.Bounds(1, 1, 4))
    for value in (None, "x", float("nan"), float("inf"), -1):
        window.completed(value)
    assert window.size == 1 and window.baseline is None


# ------------------------------------------------------------------------ in flight

def test_in_flight_counts_calls_unseen_answers_and_unfinished_records():
    flight = pacing.Flight(stall_seconds=300)
    for number, instance_id in enumerate("abcd"):
        flight.sent(instance_id, now=number)
    assert flight.count(now=4) == 4  # unanswered calls
    for instance_id in "ab":
        flight.answered(instance_id, now=5)
    flight.answered("c", now=5, in_nova=False)  # refused
    assert flight.count(now=5) == 3  # c: Nova refused it, it never was in flight
    ended = flight.observe({"a": record("a", "pre-migrating"), "b": record("b", "done")},
                           read_started=6, now=7)
    # a: rebuilding; b: done (5 s on Nova's clock); d: its call is still out.
    assert ended == [pacing.Completion("b", 5.0, False)]
    assert flight.count(now=7) == 2
    flight.answered("d", now=8)
    assert flight.count(now=8) == 2  # a, and d: answered after the read began (unseen)
    assert flight.observe({"a": record("a", "error")}, read_started=9, now=9) == [
        pacing.Completion("a", 5.0, True)]
    # d was accepted, but Nova's changes-since list skips a record whose updated_at is
    # still null (just accepted, queued in the conductor): it is in flight all the same.
    assert flight.count(now=9) == 1
    assert flight.observe({"d": record("d", "done")}, read_started=10, now=10) == [
        pacing.Completion("d", 5.0, False)]
    assert flight.count(now=10) == 0


def test_an_accepted_call_whose_record_never_shows_stops_counting_after_the_stall_time():
    flight = pacing.Flight(stall_seconds=60)
    flight.sent("a", now=0)
    flight.answered("a", now=1)
    flight.observe({}, read_started=2, now=2)
    assert flight.count(now=60) == 1
    assert flight.count(now=62) == 0


def test_an_earlier_runs_rebuilds_count_and_a_stuck_one_stops_counting():
    flight = pacing.Flight(stall_seconds=60)
    flight.observe({"x": record("x", "accepted"), "y": record("y", "done")},
                   read_started=0, now=0)
    assert flight.count(now=1) == 1
    assert flight.count(now=61) == 0


def test_a_completion_without_stamps_uses_the_senders_clock():
    flight = pacing.Flight()
    flight.sent("a", now=10)
    flight.answered("a", now=11)
    ended = flight.observe({"a": {"instance_uuid": "a", "status": "completed"}},
                           read_started=12, now=30)
    assert ended == [pacing.Completion("a", 20, False)]
    assert flight.observe({"a": {"instance_uuid": "a", "status": "completed"}},
                          read_started=31, now=31) == []  # reported once


def test_newest_record_per_wanted_instance_since_the_batch_began():
    from datetime import datetime, timezone

    records = [record("a", "failed", created="2026-12-03T08:00:00Z", record_id=1),
               record("a", "accepted", created="2026-12-03T08:01:00Z", record_id=2),
               record("b", "done", created="2026-12-03T07:00:00Z", record_id=3),
               record("z", "accepted", record_id=4)]
    newest = pacing.newest_by_instance(records, {"a", "b"},
                                       since=datetime(2026, 12, 3, 7, 30, tzinfo=timezone.utc))
    assert newest == {"a": records[1]}


# --------------------------------------------------------------------------- order

def test_queue_takes_in_order_and_drops_cancelled_keys():
    queue = pacing.SendQueue([1, 2, 3, 4, 5])
    assert queue.take(2) == [1, 2]
    queue.keep({3, 5})
    assert len(queue) == 2
    assert queue.take(5) == [3, 5]
    assert queue.take(1) == [] and len(queue) == 0


EVENTS = st.lists(st.one_of(
    st.tuples(st.just("complete"), st.floats(min_value=0, max_value=1e4,
                                             allow_nan=False)),
    st.tuples(st.just("fail"), st.none()),
    st.tuples(st.just("cancel"), st.integers(min_value=0, max_value=60)),
    st.tuples(st.just("send"), st.none())), max_size=200)


@hsettings(max_examples=200, deadline=None)
@given(minimum=st.integers(min_value=-2, max_value=10),
       start=st.integers(min_value=-2, max_value=20),
       maximum=st.integers(min_value=-2, max_value=20),
       count=st.integers(min_value=0, max_value=60), events=EVENTS)
def test_window_stays_in_bounds_and_items_go_in_priority_order(minimum, start, maximum,
                                                               count, events):
    window = pacing.Window(pacing.Bounds(minimum, start, maximum))
    low, high = window.bounds.minimum, window.bounds.maximum
    assert 1 <= low <= window.size <= high
    order = list(range(count))  # the batch's order: restart priority, then position
    queue = pacing.SendQueue(order)
    cancelled, sent, in_flight = set(), [], []
    for kind, value in events:
        if kind == "complete" and in_flight:
            in_flight.pop(0)
            window.completed(value)
        elif kind == "fail":
            window.failed()
        elif kind == "cancel" and value not in sent:
            cancelled.add(value)
            queue.keep(set(order) - cancelled)
        elif kind == "send":
            room = window.room(len(in_flight))
            taken = queue.take(room)
            assert len(taken) <= room
            sent.extend(taken)
            in_flight.extend(taken)
            if taken:
                assert len(in_flight) <= window.size
        assert low <= window.size <= high
    sent.extend(queue.rest())
    assert sent == [key for key in order if key not in cancelled]
    assert sent == sorted(sent)  # never out of priority order


def test_a_retried_instances_earlier_record_is_not_its_new_calls():
    flight = pacing.Flight()
    flight.observe({"a": record("a", "error", record_id=1)}, read_started=0, now=0)
    flight.sent("a", now=1)
    flight.answered("a", now=2)
    # The next read still shows the failed record only (the new one is not visible yet).
    assert flight.observe({"a": record("a", "error", record_id=1)}, read_started=3,
                          now=3) == []
    assert flight.count(now=3) == 1
    assert flight.observe({"a": record("a", "done", record_id=2)}, read_started=4,
                          now=4) == [pacing.Completion("a", 5.0, False)]
    assert flight.count(now=4) == 0


def test_a_lost_answer_counts_only_while_its_record_shows_unfinished():
    """A lost answer may be one Nova never got (a 500 from a proxy): it must not hold a
    place in the window for the stall time; if Nova did get it, its record counts."""
    flight = pacing.Flight(stall_seconds=300)
    flight.sent("a", now=0)
    flight.answered("a", now=1, in_nova=None)
    assert flight.count(now=2) == 0
    flight.observe({}, read_started=2, now=2)
    assert flight.count(now=3) == 0
    flight.observe({"a": record("a", "pre-migrating")}, read_started=4, now=4)
    assert flight.count(now=4) == 1
    assert flight.observe({"a": record("a", "done")}, read_started=5, now=5) == [
        pacing.Completion("a", 5.0, False)]
    assert flight.count(now=5) == 0
