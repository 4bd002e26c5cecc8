"""Filters, keyset paging and the CSV export of the history."""
import csv
from datetime import datetime, timedelta, timezone
import io

import pytest

from evac_dashboard.store import audit
from evac_dashboard.content.history import export
from evac_dashboard.store import batches
from evac_dashboard.models import AuditRecord

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)


def record(action, host, minutes, user="alice", outcome=audit.SUCCEEDED, origin="panel",
           target="", detail=""):
    who = batches.Initiator("id-" + user, user, "p1", "ops")
    made = audit.begin(who, action, source_host=host, target_host=target, detail=detail)
    AuditRecord.objects.filter(pk=made.pk).update(
        created_at=T0 + timedelta(minutes=minutes), outcome=outcome, origin=origin)
    return made.pk


@pytest.fixture
def history():
    return {
        "fd1": record(audit.FORCE_DOWN, "cmp1", 0),
        "ev1": record(audit.HOST_EVACUATE, "cmp1", 1, outcome=audit.PARTIAL, target="cmp2"),
        "fd10": record(audit.FORCE_DOWN, "cmp10", 2, user="bob", outcome=audit.FAILED),
        "ext": record(audit.EVACUATE, "cmp10", 3, user="", origin="external",
                      target="cmp1"),
        "en": record(audit.ENABLE, "cmp3", 60 * 24, user="bob"),
    }


def ids(history_filter=None, **params):
    chosen = history_filter or audit.HistoryFilter.from_params(params)
    return list(audit.query(chosen).values_list("pk", flat=True))


def test_newest_first(history):
    assert ids() == [history[k] for k in ("en", "ext", "fd10", "ev1", "fd1")]


def test_host_is_exact_and_matches_source_or_target(history):
    assert ids(host="cmp1") == [history["ext"], history["ev1"], history["fd1"]]
    assert ids(host="CMP10") == [history["ext"], history["fd10"]]
    assert ids(host="cmp") == []


def test_user_by_name_part_or_exact_id(history):
    assert ids(user="bo") == [history["en"], history["fd10"]]
    assert ids(user="id-alice") == [history["ev1"], history["fd1"]]


def test_action_outcome_and_origin_by_code_or_label(history):
    assert ids(action="evacuate") == [history["ext"], history["ev1"]]
    assert ids(action="Force down") == [history["fd10"], history["fd1"]]
    assert ids(action="evacuate host") == [history["ev1"]]
    assert ids(outcome="failed") == [history["fd10"]]
    assert ids(outcome="refused") == [history["ev1"]]
    assert ids(origin="external") == [history["ext"]]


def test_time_range_and_combination(history):
    assert ids(since="2026-11-21") == [history["en"]]
    assert ids(until="2026-11-20") == [history[k] for k in ("ext", "fd10", "ev1", "fd1")]
    assert ids(since="2026-11-20 12:01", until="2026-11-20 12:02") == [
        history["fd10"], history["ev1"]]
    assert ids(since="2026-11-20", until="2026-11-20", host="cmp10", action="force") == [
        history["fd10"]]
    with pytest.raises(ValueError):
        audit.HistoryFilter.from_params({"since": "yesterday"})


def test_filter_round_trips_through_query_parameters():
    chosen = audit.HistoryFilter.from_params({"host": "cmp1", "since": "2026-11-20"})
    assert chosen.to_params() == {"host": "cmp1", "since": "2026-11-20T00:00:00Z"}
    assert audit.HistoryFilter.from_params(chosen.to_params()) == chosen
    assert not audit.HistoryFilter()


def test_keyset_paging_forward_and_back(history):
    order = ids()
    first, has_prev, has_more = audit.page(size=2)
    assert [r.pk for r in first] == order[:2] and not has_prev and has_more
    second, has_prev, has_more = audit.page(marker=first[-1].pk, size=2)
    assert [r.pk for r in second] == order[2:4] and has_prev and has_more
    third, _prev, has_more = audit.page(marker=second[-1].pk, size=2)
    assert [r.pk for r in third] == order[4:] and not has_more
    back, has_prev, _more = audit.page(prev_marker=second[0].pk, size=2)
    assert [r.pk for r in back] == order[:2] and not has_prev
    # A record added meanwhile does not shift the pages already being read.
    record(audit.ENABLE, "cmp9", 60 * 48)
    again, _prev, _more = audit.page(marker=first[-1].pk, size=2)
    assert [r.pk for r in again] == order[2:4]


def test_paging_with_a_filter(history):
    chosen = audit.HistoryFilter(host="cmp1")
    first, _prev, has_more = audit.page(chosen, size=2)
    rest, _prev, more = audit.page(chosen, marker=first[-1].pk, size=2)
    assert [r.pk for r in first + rest] == ids(chosen) and has_more and not more


# --------------------------------------------------------------------------------- CSV

def parse_csv(records):
    return list(csv.DictReader(io.StringIO("".join(export.rows(records)))))


def test_csv_quotes_properly_and_defuses_formulas():
    pk = record(audit.DISABLE, "=HYPERLINK(\"http://x\")", 0,
                detail='reason, with "quotes"\nand a newline')
    AuditRecord.objects.filter(pk=pk).update(user_name="@SUM(A1)", project_name="-2+3",
                                             target_host="+cmp2")
    rows = parse_csv(AuditRecord.objects.all())
    assert len(rows) == 1
    row = rows[0]
    assert row["source_host"] == "'=HYPERLINK(\"http://x\")"
    assert row["user_name"] == "'@SUM(A1)" and row["project_name"] == "'-2+3"
    assert row["target_host"] == "'+cmp2"
    assert row["detail"] == 'reason, with "quotes"\nand a newline'
    assert row["action"] == "disable" and row["time_utc"] == "2026-11-20T12:00:00Z"


def test_safe_cell():
    assert export.safe_cell("cmp1") == "cmp1"
    assert export.safe_cell("=1+1") == "'=1+1"
    assert export.safe_cell("\t=1") == "'\t=1"
    assert export.safe_cell(None) == ""
    assert export.safe_cell(3) == "3"
