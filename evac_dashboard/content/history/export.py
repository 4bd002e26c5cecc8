"""CSV export of the history: the csv module for quoting, and no spreadsheet formulas.

A cell that starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage return, which some
spreadsheets strip before looking) is prefixed with ``'`` so a spreadsheet shows it as text
instead of evaluating it: host names, reasons and Nova messages are not ours to trust.
"""
import csv
import json

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

COLUMNS = (
    ("time_utc", lambda r: r.created_at.strftime("%Y-%m-%dT%H:%M:%SZ")),
    ("origin", lambda r: r.origin),
    ("action", lambda r: r.action),
    ("outcome", lambda r: r.outcome),
    ("source_host", lambda r: r.source_host),
    ("target_host", lambda r: r.target_host),
    ("instance_count", lambda r: r.instance_count),
    ("instances", lambda r: "; ".join(
        "%s (%s)" % (e.get("name"), e.get("id")) if e.get("name") else e.get("id", "")
        for e in r.instances or ())),
    ("user_id", lambda r: r.user_id),
    ("user_name", lambda r: r.user_name),
    ("project_id", lambda r: r.project_id),
    ("project_name", lambda r: r.project_name),
    ("microversion", lambda r: r.microversion),
    ("request_ids", lambda r: " ".join(r.request_ids or ())),
    # ``operations.history.export`` hands records over with their options password-free.
    ("options", lambda r: json.dumps(r.options, sort_keys=True) if r.options else ""),
    ("password_set", lambda r: "yes" if r.password_set else "no"),
    ("nova_result", lambda r: json.dumps(r.nova_summary, sort_keys=True)
     if r.nova_summary else ""),
    ("detail", lambda r: r.detail),
    ("completed_utc", lambda r: r.completed_at.strftime("%Y-%m-%dT%H:%M:%SZ")
     if r.completed_at else ""),
    ("batch_id", lambda r: str(r.batch_id) if r.batch_id else ""),
    ("nova_migration", lambda r: r.migration_key or ""),
    ("record_id", lambda r: r.pk),
)


def safe_cell(value):
    """The text of one cell, defused against formula injection."""
    if value is None:
        return ""
    text = str(value)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


class _Echo:
    """A file-like object whose write returns the line, for streaming."""

    def write(self, value):
        return value


def rows(records):
    """The CSV lines (header first) for ``records``, as strings."""
    writer = csv.writer(_Echo())
    yield writer.writerow([name for name, _value in COLUMNS])
    for record in records:
        yield writer.writerow([safe_cell(value(record)) for _name, value in COLUMNS])
