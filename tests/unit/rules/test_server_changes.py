"""The merged view of a batch's servers that lets polls read only recent changes."""
import datetime

from evac_dashboard.rules import server_changes as changes

UTC = datetime.timezone.utc
T0 = datetime.datetime(2026, 11, 23, 9, 0, 0, tzinfo=UTC)


def server(sid, seconds, host="cmp1", **extra):
    stamp = (T0 + datetime.timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return dict({"id": sid, "updated": stamp, "OS-EXT-SRV-ATTR:host": host}, **extra)


def test_full_read_keeps_wanted_servers_and_the_newest_stamp_of_all():
    view = changes.full([server("a", 5), server("b", 9), server("other", 30)],
                        wanted={"a", "b"}, now=100.0)
    assert set(view.servers) == {"a", "b"}
    # Another project's newer change still moves the watermark: it is Nova's clock too.
    assert view.newest == T0 + datetime.timedelta(seconds=30)
    assert (view.full_read_at, view.read_at) == (100.0, 100.0)


def test_next_read_asks_from_the_newest_change_minus_the_overlap():
    view = changes.full([server("a", 60)], {"a"}, now=0.0)
    floor = T0
    assert view.since(floor, datetime.timedelta(seconds=10)) == T0 + datetime.timedelta(
        seconds=50)
    # Never before the batch began, and the batch start when nothing was seen yet.
    assert view.since(T0 + datetime.timedelta(seconds=55)) == T0 + datetime.timedelta(
        seconds=55)
    assert changes.full([], {"a"}, now=0.0).since(floor) == floor


def test_merge_replaces_changed_servers_and_keeps_the_rest():
    known = changes.full([server("a", 5), server("b", 5)], {"a", "b", "c"}, now=10.0)
    answer = [server("b", 20, host="cmp2"), server("c", 21, status="DELETED"),
              server("x", 25)]
    view = changes.merged(known, answer, {"a", "b", "c"}, now=40.0)
    assert view.servers["a"] is known.servers["a"]
    assert view.servers["b"]["OS-EXT-SRV-ATTR:host"] == "cmp2"
    assert view.servers["c"]["status"] == "DELETED"
    assert "x" not in view.servers
    assert view.newest == T0 + datetime.timedelta(seconds=25)
    assert (view.full_read_at, view.read_at) == (10.0, 40.0)
    # The old view is untouched: polls still holding it see what they saw.
    assert known.servers["b"]["OS-EXT-SRV-ATTR:host"] == "cmp1"


def test_an_empty_answer_keeps_the_watermark():
    known = changes.full([server("a", 5)], {"a"}, now=0.0)
    assert changes.merged(known, [], {"a"}, now=3.0).newest == known.newest


def test_a_full_read_is_due_after_the_period():
    view = changes.full([server("a", 5)], {"a"}, now=100.0)
    assert not view.needs_full_read(219.0, 120)
    assert view.needs_full_read(220.0, 120)
    assert view.needs_full_read(100.0, 0)


def test_stamps_nova_writes_in_other_formats_count():
    naive = {"id": "a", "updated": "2026-11-23T09:01:00.000000"}
    view = changes.full([naive, {"id": "b"}], {"a", "b"}, now=0.0)
    assert view.newest == T0 + datetime.timedelta(minutes=1)
