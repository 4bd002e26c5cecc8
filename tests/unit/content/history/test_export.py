"""The CSV export of the history: proper quoting, no spreadsheet formulas."""
import csv
from datetime import datetime, timedelta, timezone
import io

import pytest

from evac_dashboard.content.history import export
from evac_dashboard.store import audit
from evac_dashboard.store import batches
from evac_dashboard.models import AuditRecord

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)


def record(action, host, minutes, user="alice", detail=""):
    who = batches.Initiator("id-" + user, user, "p1", "ops")
    made = audit.begin(who, action, source_host=host, detail=detail)
    AuditRecord.objects.filter(pk=made.pk).update(created_at=T0 + timedelta(minutes=minutes))
    return made.pk


def parse_csv(records):
    return list(csv.DictReader(io.StringIO("".join(export.rows(records)))))


def test_csv_quotes_properly_and_defuses_formulas():
    pk = record(AuditRecord.DISABLE, "=HYPERLINK(\"http://x\")", 0,
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
