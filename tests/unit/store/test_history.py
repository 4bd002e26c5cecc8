"""Reading the history: filters, keyset paging, out-of-range times; and the retention."""
from datetime import datetime, timedelta, timezone
import io

from django.core.management import call_command
from django.utils import timezone as dj_timezone
import pytest

from evac_dashboard.rules.history_filter import HistoryFilter, TimeError
from evac_dashboard.store import audit
from evac_dashboard.store import batches
from evac_dashboard.store import history as audit_history
from evac_dashboard.models import AuditRecord, NovaEvacuation

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)
ADMIN = batches.Initiator("u-admin", "admin", "p-admin", "admin")


def record(action, host, minutes, user="alice", outcome=AuditRecord.SUCCEEDED, origin="panel",
           target="", detail=""):
    who = batches.Initiator("id-" + user, user, "p1", "ops")
    made = audit.begin(who, action, source_host=host, target_host=target, detail=detail)
    AuditRecord.objects.filter(pk=made.pk).update(
        created_at=T0 + timedelta(minutes=minutes), outcome=outcome, origin=origin)
    return made.pk


@pytest.fixture
def history():
    return {
        "fd1": record(AuditRecord.FORCE_DOWN, "cmp1", 0),
        "ev1": record(AuditRecord.HOST_EVACUATE, "cmp1", 1, outcome=AuditRecord.PARTIAL, target="cmp2"),
        "fd10": record(AuditRecord.FORCE_DOWN, "cmp10", 2, user="bob", outcome=AuditRecord.FAILED),
        "ext": record(AuditRecord.EVACUATE, "cmp10", 3, user="", origin="external",
                      target="cmp1"),
        "en": record(AuditRecord.ENABLE, "cmp3", 60 * 24, user="bob"),
    }


def ids(history_filter=None, **params):
    chosen = history_filter or HistoryFilter.from_params(params)
    return list(audit_history.query(chosen).values_list("pk", flat=True))


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
        HistoryFilter.from_params({"since": "yesterday"})


def test_filter_round_trips_through_query_parameters():
    chosen = HistoryFilter.from_params({"host": "cmp1", "since": "2026-11-20"})
    assert chosen.to_params() == {"host": "cmp1", "since": "2026-11-20T00:00:00Z"}
    assert HistoryFilter.from_params(chosen.to_params()) == chosen
    assert not HistoryFilter()


def test_keyset_paging_forward_and_back(history):
    order = ids()
    first, has_prev, has_more = audit_history.page(size=2)
    assert [r.pk for r in first] == order[:2] and not has_prev and has_more
    second, has_prev, has_more = audit_history.page(marker=first[-1].pk, size=2)
    assert [r.pk for r in second] == order[2:4] and has_prev and has_more
    third, _prev, has_more = audit_history.page(marker=second[-1].pk, size=2)
    assert [r.pk for r in third] == order[4:] and not has_more
    back, has_prev, _more = audit_history.page(prev_marker=second[0].pk, size=2)
    assert [r.pk for r in back] == order[:2] and not has_prev
    # A record added meanwhile does not shift the pages already being read.
    record(AuditRecord.ENABLE, "cmp9", 60 * 48)
    again, _prev, _more = audit_history.page(marker=first[-1].pk, size=2)
    assert [r.pk for r in again] == order[2:4]


def test_paging_with_a_filter(history):
    chosen = HistoryFilter(host="cmp1")
    first, _prev, has_more = audit_history.page(chosen, size=2)
    rest, _prev, more = audit_history.page(chosen, marker=first[-1].pk, size=2)
    assert [r.pk for r in first + rest] == ids(chosen) and has_more and not more


def test_a_time_outside_years_1_to_9999_in_utc_is_refused_not_an_overflow(history):
    for name, when in (("since", "9999-12-31T23:59:59-01:00"),
                       ("until", "0001-01-01T00:00:00+01:00")):
        with pytest.raises(TimeError) as raised:
            HistoryFilter.from_params({name: when})
        assert raised.value.param == name and "outside the years 1 to 9999" in str(raised.value)
        chosen, errors = HistoryFilter.lenient({name: when, "host": "cmp1"})
        assert [n for n, _message in errors] == [name]
        assert ids(chosen) == ids(host="cmp1")
    # The last and first instants that are still years 1-9999 once in UTC are fine.
    assert ids(since="9999-12-31T22:59:59-01:00") == []
    assert ids(until="0001-01-01T01:00:00+01:00") == []
    assert HistoryFilter.from_params({"since": "2026-11-20T13:00:00+01:00"}).to_params() == {
        "since": "2026-11-20T12:00:00Z"}


# -------------------------------------------------------------------------- retention

def test_prune_deletes_only_what_is_older_than_the_retention(settings):
    settings.EVAC_AUDIT_RETENTION_DAYS = 30
    old = audit.begin(ADMIN, AuditRecord.ENABLE, source_host="old")
    AuditRecord.objects.filter(pk=old.pk).update(
        created_at=dj_timezone.now() - timedelta(days=31))
    recent = audit.begin(ADMIN, AuditRecord.ENABLE, source_host="recent")
    NovaEvacuation.objects.create(migration_key="m-old", instance_id="i",
                                  created_at=dj_timezone.now() - timedelta(days=40))
    out = io.StringIO()
    call_command("evac_prune_audit", "--dry-run", stdout=out)
    assert "Would delete 1 history record(s) and 1" in out.getvalue()
    assert AuditRecord.objects.count() == 2
    call_command("evac_prune_audit", stdout=io.StringIO())
    assert list(AuditRecord.objects.values_list("pk", flat=True)) == [recent.pk]
    assert not NovaEvacuation.objects.exists()


def test_retention_none_keeps_everything(settings):
    settings.EVAC_AUDIT_RETENTION_DAYS = None
    old = audit.begin(ADMIN, AuditRecord.ENABLE, source_host="old")
    AuditRecord.objects.filter(pk=old.pk).update(
        created_at=dj_timezone.now() - timedelta(days=3000))
    out = io.StringIO()
    call_command("evac_prune_audit", stdout=out)
    assert "forever" in out.getvalue() and AuditRecord.objects.count() == 1


def test_a_criterion_longer_than_any_name_matches_nothing_without_a_query(
        history, django_assert_num_queries):
    """SQLite refuses a LIKE pattern over 50,000 bytes: such a value never reaches it."""
    for huge in (HistoryFilter(host="x" * 60000), HistoryFilter(user="x" * 60000),
                 HistoryFilter(host="cmp1", user="é" * 30000)):
        with django_assert_num_queries(0):
            assert list(audit_history.query(huge)) == []
        assert audit_history.page(huge) == ([], False, False)
    longest = "h" * audit_history.LONGEST_NAME
    pk = record(AuditRecord.FORCE_DOWN, longest, 5)
    assert [r.pk for r in audit_history.query(HistoryFilter(host=longest))] == [pk]
