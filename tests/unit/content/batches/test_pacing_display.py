"""The sender's window on the progress page: ``_pacing.html``, the poll answer
(``presenters.summary_answer``) and what ``evac.progress.js`` updates."""
import pathlib
import re

from django.template.loader import render_to_string
from django.utils import translation

from evac_dashboard.content.batches import presenters

ROOT = pathlib.Path(__file__).resolve().parents[4]
SCRIPT = ROOT / "static" / "evac_dashboard" / "js" / "evac.progress.js"
TEMPLATE = ROOT / "templates" / "evac_dashboard" / "batches" / "_pacing.html"

ACTIVE = {"active": True, "window": 6, "in_flight": 4, "minimum": 2, "maximum": 16}


def render(pacing):
    with translation.override("en"):
        return render_to_string("evac_dashboard/batches/_pacing.html", {"data": {"pacing": pacing}})


def words(html):
    return " ".join(re.sub(r"<[^>]+>", "", html).split())


def test_an_active_window_is_shown_in_words():
    html = render(ACTIVE)
    assert "Sending at most 6 at a time (4 rebuilds under way)" in words(html)
    assert 'data-field="pacing-window">6<' in html
    assert 'data-field="pacing-in-flight">4<' in html
    assert "between 2 and 16" in words(html)
    assert re.search(r'data-field="pacing"\s*>', html)  # not hidden


def test_no_window_is_hidden():
    for pacing in ({"active": False, "window": 3, "in_flight": 0, "minimum": 2,
                    "maximum": 16}, {"active": False}, None):
        html = render(pacing)
        assert re.search(r'data-field="pacing" hidden', html)


def test_the_poll_answer_carries_the_window():
    data = {"batch": {"state": "submitting", "error_message": ""},
            "summary": {}, "final": False, "resume": {}, "nova": {"ok": True, "error": None},
            "poll": {"interval_seconds": 3, "max_interval_seconds": 30, "backoff_factor": 2,
                     "nova_calls_per_poll": 2},
            "now": "2026-12-03T08:00:00Z", "pacing": ACTIVE}
    assert presenters.summary_answer(data)["pacing"] == ACTIVE
    del data["pacing"]
    assert presenters.summary_answer(data)["pacing"] == {"active": False}


def test_the_script_updates_the_templates_fields_and_holds_no_words():
    script = SCRIPT.read_text()
    body = script[script.index("function applyPacing"):]
    body = body[:body.index("\n    }\n")]
    fields = set(re.findall(r"'(pacing[a-z-]*)'", body))
    template = TEMPLATE.read_text()
    assert fields == {"pacing", "pacing-window", "pacing-in-flight", "pacing-minimum",
                      "pacing-maximum"}
    for name in fields:
        assert 'data-field="%s"' % name in template
    # Only field names and the document's keys: no sentence of its own.
    assert all(not re.search(r"\s", literal) for literal in re.findall(r"'([^'\\]*)'", body))
    assert "applyPacing(data.pacing" in script
