"""The Evacuations panel: batch list, progress page, JSON endpoint and actions.

Horizon style (``BaseAdminViewTests``), with Nova served by the progress tests' fake Nova
over real HTTP: the views call the real API layer, whose compute endpoint is pointed at the
fake. Submissions run inline (``submission._pool`` patched) so the in-memory test database
stays in one thread.
"""
import datetime
import json
import os
import re

from unittest import mock

from django import db
from django.conf import settings
from django.test import override_settings
from novaclient import exceptions as nova_exceptions
from requests.packages.urllib3.connection import HTTPConnection
from django.urls import reverse
from django.utils import timezone
from django.utils.html import strip_tags

from openstack_dashboard.test import helpers as test

from evac_dashboard import models
from evac_dashboard.api import client
from evac_dashboard.store import batches
from evac_dashboard.rules import request as evac_request
from evac_dashboard.operations import evacuations
from evac_dashboard.operations import submission
from evac_dashboard.operations import progress_reads
from evac_dashboard.operations import snapshots
from tests.unit.factories import ADMIN, servers_on
from tests.unit.fakes.nova import DROP_AFTER, still_in_use
from tests.unit.content.batches.rowhtml import rows_of
from tests.unit.fakes.evacuating_nova import serve_progress_page

INDEX_URL = reverse("horizon:admin:evac_batches:index")


def url(name, batch):
    return reverse("horizon:admin:evac_batches:" + name, args=[getattr(batch, "pk", batch)])


AJAX = {"HTTP_X_REQUESTED_WITH": "XMLHttpRequest", "HTTP_ACCEPT": "application/json"}


@override_settings(EVAC_NOVA_MICROVERSION=None, EVAC_PROGRESS_CACHE_SECONDS=0)
class FakeNovaViewTests(test.BaseAdminViewTests):
    """Base: a fake Nova per test; the API layer's compute endpoint points at it."""

    max_limit = 1000

    def setUp(self):
        super().setUp()
        # Horizon's TestCase refuses real HTTP (to catch unmocked API calls); here the API
        # layer is meant to reach the fake Nova on 127.0.0.1.
        HTTPConnection.connect = self._real_conn_request
        self.nova = serve_progress_page(self, self.max_limit)

    def make_batch(self, count=3, host="cmp1", submit=True, password=None, prefix="vm"):
        servers = servers_on(host, count, prefix=prefix)
        self.nova.add_servers(servers)
        batch = batches.create_batch(
            kind=models.EvacuationBatch.KIND_HOST, source_host=host, servers=servers,
            options=evac_request.EvacuateOptions(admin_password=password),
            microversion="2.94", initiator=ADMIN)
        if submit:
            submission.start(batch, submission.Credentials.from_request(
                self._creds_request()), password=password,
                executor=submission.InlineExecutor())
            batch.refresh_from_db()
        return batch

    def _creds_request(self):
        from tests.unit.fakes.nova import fake_request
        return fake_request(self.nova.endpoint)

    def poll(self, batch, since=None):
        """A poll's answer; ``items``: its rows read back from their HTML (without
        ``since``, every row)."""
        res = self.client.get(url("progress", batch), {"since": since} if since else {},
                              **AJAX)
        self.assertEqual(200, res.status_code, res.content[:500])
        data = json.loads(res.content)
        data["items"] = rows_of(data)
        return data


class ProgressPageTests(FakeNovaViewTests):
    def test_page_shows_every_row_with_state_text_and_icon(self):
        batch = self.make_batch(3)
        ids = [i.instance_id for i in batch.items.order_by("position")]
        self.nova.finish_all()
        self.nova.step(ids[1], to=3)  # back to rebuild_spawning for this one
        self.nova.fail(ids[2])
        res = self.client.get(url("detail", batch))
        self.assertTemplateUsed(res, "evac_dashboard/batches/detail.html")
        html = res.content.decode()
        for text in ("cmp1-vm000", "cmp1-vm001", "cmp1-vm002", "Done", "Rebuilding", "Failed",
                     "fa-check-circle", "fa-refresh", "fa-times-circle", "rebuild_spawning",
                     "No valid host was found", "The scheduler found no host", "on cmp2",
                     'data-poll-url="%s"' % url("progress", batch), "demo"):
            self.assertTrue(text in html, text)
        # No inline script in the page's own markup; the script is a compressed static file.
        page = html.split('id="evac-progress"', 1)[1].split("</table>")[0]
        self.assertNotIn("<script", page)
        bundle = re.findall(r'<script src="/static/(CACHE/js/output\.[0-9a-f]+\.js)"', html)[-1]
        with open(os.path.join(settings.COMPRESS_ROOT, bundle), encoding="utf-8") as handle:
            self.assertIn("horizon.evacProgress", handle.read())
        self.assertEqual(["done", "rebuilding", "failed"],
                         [r["state"] for r in res.context["rows"]])

    def test_page_of_an_unknown_batch_is_404(self):
        res = self.client.get(url("detail", "not-a-uuid"))
        self.assertEqual(404, res.status_code)

    def test_page_renders_when_nova_is_down(self):
        batch = self.make_batch(2)
        self.nova.servers_status = 503
        res = self.client.get(url("detail", batch))
        self.assertEqual(200, res.status_code)
        self.assertIn("Nova could not be read", res.content.decode())

    def test_index_lists_active_batches_first_with_a_link(self):
        finished = self.make_batch(2, host="cmp1")
        active = self.make_batch(2, host="cmp2", submit=False)
        res = self.client.get(INDEX_URL)
        self.assertTemplateUsed(res, "evac_dashboard/batches/index.html")
        rows = res.context["table"].data
        self.assertEqual([active.pk, finished.pk], [b.pk for b in rows])
        html = res.content.decode()
        self.assertIn(url("detail", finished), html)
        self.assertIn("Watch progress", html)
        self.assertIn("2 sent, 0 refused, 0 waiting, 0 cancelled", html)


class ProgressJsonTests(FakeNovaViewTests):
    def test_schema(self):
        batch = self.make_batch(2)
        self.nova.finish_all()
        data = self.poll(batch)
        self.assertEqual({"batch", "summary", "final", "resume", "nova", "poll", "now",
                          "version", "full", "rows", "removed", "items", "pacing"}, set(data))
        self.assertEqual({"state", "state_label", "error_message"}, set(data["batch"]))
        self.assertTrue(data["final"] and data["full"] and data["version"])
        self.assertEqual(snapshots.DEFAULT_POLL_INTERVAL_SECONDS,
                         data["poll"]["interval_seconds"])
        self.assertEqual(progress_reads.NOVA_CALLS_PER_POLL, data["poll"]["nova_calls_per_poll"])
        # Each row's facts are in its HTML: the page shows them.
        row = data["items"][0]
        self.assertEqual(batch.items.order_by("position")[0].pk, row["id"])
        for key in ("id", "state", "label", "attempt", "stages", "since", "can_retry",
                    "can_cancel", "fault_message"):
            self.assertIn(key, row)
        cells = row["cells"]
        self.assertEqual(["1", "cmp1-vm000", "demo", "cmp1", "cmp2", "ACTIVE", "done"],
                         [cells[0], cells[1].split()[0]] + cells[2:5] + cells[6:8])
        self.assertEqual("Done running on cmp2", cells[5])
        self.assertEqual("no-store", self.client.get(url("progress", batch))["Cache-Control"])
        zipped = self.client.get(url("progress", batch), HTTP_ACCEPT_ENCODING="gzip", **AJAX)
        self.assertEqual("gzip", zipped["Content-Encoding"])

    def test_unknown_or_malformed_batch_is_a_json_404(self):
        for bad in ("nope", "00000000-0000-0000-0000-000000000000"):
            res = self.client.get(url("progress", bad), **AJAX)
            self.assertEqual(404, res.status_code)
            self.assertEqual("not_found", json.loads(res.content)["code"])

    def test_nova_failure_is_inside_the_document_not_a_500(self):
        batch = self.make_batch(2)
        self.nova.servers_status = 500
        data = self.poll(batch)
        self.assertFalse(data["nova"]["ok"])
        self.assertIn("servers broke", data["nova"]["error"])


class ChangedRowsTests(FakeNovaViewTests):
    """A poll answers only the rows that changed since the version the browser holds."""

    def _get(self, batch, since=None):
        res = self.client.get(url("progress", batch), {"since": since} if since else {},
                              **AJAX)
        self.assertEqual(200, res.status_code)
        data = json.loads(res.content)
        data["items"] = rows_of(data)
        return len(res.content), data

    def test_an_unchanged_poll_of_1000_instances_is_under_2_kb(self):
        batch = self.make_batch(1000)
        self.nova.step_all(to=2)
        size, first = self._get(batch)
        self.assertTrue(first["full"])
        self.assertEqual(1000, len(first["items"]))
        size, same = self._get(batch, first["version"])
        print("poll sizes at 1000 instances: first", len(json.dumps(first)), "unchanged", size)
        self.assertEqual(([], [], False), (same["rows"], same["removed"], same["full"]))
        self.assertEqual(first["version"], same["version"])
        self.assertLess(size, 2048)
        moved = batch.items.order_by("position")[7]
        self.nova.step(moved.instance_id, to=3)
        size, one = self._get(batch, same["version"])
        self.assertEqual([moved.pk], [r["id"] for r in one["items"]])
        self.assertEqual("rebuild_spawning", one["items"][0]["label"])
        self.assertNotEqual(same["version"], one["version"])

    def test_an_unknown_version_gets_every_row_and_nova_down_gets_none(self):
        batch = self.make_batch(3)
        _size, data = self._get(batch, "0123456789abcdef")
        self.assertTrue(data["full"])
        self.assertEqual(3, len(data["items"]))
        self.nova.servers_status = 503
        _size, down = self._get(batch, data["version"])
        self.assertFalse(down["nova"]["ok"])
        self.assertEqual(([], data["version"]), (down["rows"], down["version"]))

    def test_the_page_and_its_polls_render_a_row_the_same(self):
        batch = self.make_batch(2)
        self.nova.step_all(to=3)
        html = self.client.get(url("detail", batch)).content.decode()
        version = re.search(r'data-version="([0-9a-f]+)"', html).group(1)
        _size, data = self._get(batch)
        for item_id, row_html in data["rows"]:
            self.assertIn(row_html, html)
        _size, same = self._get(batch, version)
        self.assertEqual([], same["rows"])

    def test_no_stage_is_shown_by_its_raw_name(self):
        batch = self.make_batch(4)
        ids = [i.instance_id for i in batch.items.order_by("position")]
        for index, to in enumerate((1, 2, 3)):
            self.nova.step(ids[index], to=to)
        self.nova.server(ids[3])["OS-EXT-STS:task_state"] = "powering-off"
        self.nova.server(ids[3])["status"] = "REBUILD"
        page = self.client.get(url("detail", batch)).content.decode()
        for raw in ("rebuild_block_device_mapping", "rebuild_spawning", "powering-off"):
            self.assertNotIn(raw, strip_tags(page))
        rows = self.poll(batch)["items"]
        self.assertEqual(["rebuilding", "rebuild_block_device_mapping", "rebuild_spawning",
                          "powering-off"], [r["label"] for r in rows])
        for text in [r["text"] for r in rows] + [strip_tags(page)]:
            for raw in ("rebuild_block_device_mapping", "rebuild_spawning", "powering-off",
                        "rebuilding"):
                self.assertNotIn(raw, text)
        self.assertIn("starting the guest", rows[2]["text"])
        self.assertIn("attaching volumes", rows[1]["text"])

    def test_a_row_ticks_in_the_browser_not_in_its_html(self):
        batch = self.make_batch(1)
        row = self.poll(batch)["items"][0]
        self.assertTrue(row["since"].endswith("Z"))
        self.assertEqual("", row["cells"][8])  # the script words the duration


class CallCountTests(FakeNovaViewTests):
    """The issue's requirement: a poll costs the same for 10 and 500 instances, at most 3.

    Page size: the fake serves 1000 records per page (Nova's default ``max_limit``), so
    neither list is paged here; ``PagingTests`` shows what paging adds (per 1000 records of
    the cloud's changes, never per instance).
    """

    def _cost_of_a_poll(self, batch, cold):
        if cold:
            client.forget_versions()  # worst case: the microversion is discovered again
        before = len(self.nova.requests)
        data = self.poll(batch)
        calls = self.nova.requests[before:]
        self.assertTrue(data["nova"]["ok"])
        return [(r.method, r.path) for r in calls], data

    def test_10_and_500_instances_cost_the_same_nova_calls(self):
        small = self.make_batch(10, host="cmp1", prefix="s")
        large = self.make_batch(500, host="cmp3", prefix="l")
        self.nova.step_all(to=3)
        costs = {}
        for name, batch in (("10", small), ("500", large)):
            for cold in (True, False):
                calls, data = self._cost_of_a_poll(batch, cold)
                costs[(name, cold)] = calls
                self.assertEqual(int(name), len(data["items"]))
                self.assertEqual(["rebuilding"] * int(name),
                                 [r["state"] for r in data["items"]])
        print("Nova calls per poll:", {k: len(v) for k, v in costs.items()})
        self.assertEqual(costs[("10", True)], costs[("500", True)])
        self.assertEqual(costs[("10", False)], costs[("500", False)])
        self.assertLessEqual(len(costs[("500", True)]), progress_reads.MAX_NOVA_CALLS_PER_POLL)
        self.assertEqual(progress_reads.MAX_NOVA_CALLS_PER_POLL, len(costs[("500", True)]))
        self.assertEqual(progress_reads.NOVA_CALLS_PER_POLL, len(costs[("500", False)]))
        self.assertEqual([("GET", "/v2.1/os-migrations"), ("GET", "/v2.1/servers/detail")],
                         costs[("500", False)])
        self.assertTrue(all(method == "GET" for method, _path in costs[("500", True)]))

    @override_settings(EVAC_PROGRESS_CACHE_SECONDS=60)
    def test_observers_of_one_batch_share_a_nova_read(self):
        batch = self.make_batch(5)
        client.negotiated_version(self._creds_request())  # warm the version cache
        before = len(self.nova.requests)
        for _observer in range(5):
            self.poll(batch)
        self.assertEqual(progress_reads.NOVA_CALLS_PER_POLL, len(self.nova.requests) - before)


    def _paths_of_a_poll(self, batch):
        before = len(self.nova.requests)
        self.poll(batch)
        return [r.path for r in self.nova.requests[before:]]

    @override_settings(EVAC_PROGRESS_CACHE_SECONDS=0.001,
                       EVAC_PROGRESS_SUBMITTING_SERVERS_SECONDS=60)
    def test_while_submitting_polls_reread_only_the_evacuation_records(self):
        batch = self.make_batch(5)
        client.negotiated_version(self._creds_request())  # warm the version cache
        batch.state = models.EvacuationBatch.SUBMITTING
        batch.started_at = timezone.now() - datetime.timedelta(seconds=61)  # burst over
        batch.save()
        both = ["/v2.1/os-migrations", "/v2.1/servers/detail"]
        self.assertEqual(both, self._paths_of_a_poll(batch))
        self.nova.finish_all()
        self.assertEqual(["/v2.1/os-migrations"], self._paths_of_a_poll(batch))
        # Records say done, but the servers read is older: never done on the records alone.
        self.assertNotIn("done", {r["state"] for r in self.poll(batch)["items"]})
        batch.state = models.EvacuationBatch.FINISHED
        batch.save()
        self.assertEqual(both, self._paths_of_a_poll(batch))
        self.assertEqual({"done"}, {r["state"] for r in self.poll(batch)["items"]})

    @override_settings(EVAC_PROGRESS_CACHE_SECONDS=0.001,
                       EVAC_PROGRESS_SUBMITTING_SERVERS_SECONDS=60)
    def test_a_first_look_during_the_burst_reads_only_the_records(self):
        """The page opened while the evacuate calls go out (the busiest moment of nova-api)
        reads the evacuation records only; the servers once the burst is over."""
        batch = self.make_batch(3)
        client.negotiated_version(self._creds_request())
        batch.state = models.EvacuationBatch.SUBMITTING
        batch.started_at = timezone.now()
        batch.save()
        # A poll while the items were still waiting recorded their first stage.
        batch.items.update(stages=["pending"], stages_attempt=1)
        self.nova.finish_all()
        self.assertEqual(["/v2.1/os-migrations"], self._paths_of_a_poll(batch))
        data = self.poll(batch)
        self.assertFalse(data["final"])
        self.assertEqual({"done"}, {r["state"] for r in data["items"]})
        self.assertTrue(all("Nova's evacuation record" in r["text"] for r in data["items"]),
                        [r["text"] for r in data["items"]])
        # The row agrees with itself: Done with its stages ending in done (shown, not
        # recorded), and the servers are said to be unread, not "not changed by Nova".
        for row in data["items"]:
            self.assertEqual("done", row["stages"][-1], row)
            self.assertNotIn("not changed by Nova", row["text"])
            self.assertIn("not read yet", row["text"])
        self.assertEqual({("pending",)}, {tuple(i.stages) for i in batch.items.all()})
        self.assertFalse(any(i.has_outcome for i in batch.items.all()))  # nothing recorded
        batch.state = models.EvacuationBatch.FINISHED
        batch.save()
        self.assertEqual(["/v2.1/os-migrations", "/v2.1/servers/detail"],
                         self._paths_of_a_poll(batch))
        data = self.poll(batch)
        self.assertTrue(data["final"])
        self.assertTrue(all(i.has_outcome for i in batch.items.all()))
        self.assertEqual({"done"}, {r["stages"][-1] for r in data["items"]})

    @override_settings(EVAC_PROGRESS_CACHE_SECONDS=0.001,
                       EVAC_PROGRESS_SUBMITTING_SERVERS_SECONDS=0)
    def test_servers_on_every_poll_when_the_setting_is_0(self):
        batch = self.make_batch(5)
        client.negotiated_version(self._creds_request())
        batch.state = models.EvacuationBatch.SUBMITTING
        batch.save()
        for _poll in range(2):
            self.assertEqual(["/v2.1/os-migrations", "/v2.1/servers/detail"],
                             self._paths_of_a_poll(batch))


class PagingTests(FakeNovaViewTests):
    max_limit = 100  # a small page to show what paging costs

    def test_paging_follows_the_cloud_s_records_not_the_batch_size(self):
        batch = self.make_batch(250)
        self.nova.step_all(1)  # claimed by the target: records in Nova's changes-since list
        self.poll(batch)  # warm the version cache
        before = len(self.nova.requests)
        data = self.poll(batch)
        self.assertEqual(250, len([r for r in data["items"] if r["state"] == "rebuilding"]))
        calls = self.nova.requests[before:]
        # 250 changed servers and 250 records: 3 pages each at 100 per page.
        self.assertEqual(3, len([r for r in calls if r.path.endswith("/servers/detail")]))
        self.assertEqual(3, len([r for r in calls if r.path.endswith("/os-migrations")]))


class ActionTests(FakeNovaViewTests):
    def post(self, name, batch, ajax=True, **data):
        extra = AJAX if ajax else {}
        return self.client.post(url(name, batch), data, **extra)

    def test_retry_a_refused_item_is_a_new_attempt_of_the_same_item(self):
        batch = self.make_batch(3, submit=False)
        refused = batch.items.order_by("position")[1]
        self.nova.refusals[refused.instance_id] = still_in_use("cmp1")
        submission.start(batch, submission.Credentials.from_request(self._creds_request()),
                         executor=submission.InlineExecutor())
        self.assertEqual(3, len(self.nova.evacuations()))
        row = {r["id"]: r for r in self.poll(batch)["items"]}[refused.pk]
        self.assertTrue(row["can_retry"])
        del self.nova.refusals[refused.instance_id]

        res = self.post("retry", batch, item=str(refused.pk))

        self.assertEqual(200, res.status_code, res.content)
        self.assertTrue(json.loads(res.content)["ok"])
        refused.refresh_from_db()
        self.assertEqual((2, "submitted"), (refused.attempt, refused.submit_state))
        self.assertEqual("", refused.error_message)
        self.assertEqual(4, len(self.nova.evacuations()))
        self.assertEqual(refused.instance_id, self.nova.evacuated_ids()[-1])
        self.assertEqual(3, batch.items.count())  # same item, not a new one
        batch.refresh_from_db()
        self.assertEqual("finished", batch.state)
        self.assertIsNone(batch.active_source_host)
        row = {r["id"]: r for r in self.poll(batch)["items"]}[refused.pk]
        self.assertEqual(("rebuilding", 2), (row["state"], row["attempt"]))

    def test_retry_an_evacuation_that_failed_in_nova(self):
        batch = self.make_batch(2)
        failed = batch.items.order_by("position")[0]
        self.nova.fail(failed.instance_id, "error")
        self.assertEqual("failed", {r["id"]: r for r in self.poll(batch)["items"]}[
            failed.pk]["state"])  # what the operator saw before clicking Retry
        res = self.post("retry", batch)  # no item: every failed one
        self.assertEqual(200, res.status_code, res.content)
        # Sent again although Nova has an (errored) evacuation record since the batch began.
        self.assertEqual([failed.instance_id], self.nova.evacuated_ids()[2:])
        failed.refresh_from_db()
        self.assertEqual(2, failed.attempt)
        row = {r["id"]: r for r in self.poll(batch)["items"]}[failed.pk]
        self.assertEqual("rebuilding", row["state"])
        self.assertIsNone(row["fault_message"])

    def test_retry_refusals_are_json_errors(self):
        batch = self.make_batch(2)
        done = batch.items.order_by("position")[0]
        self.nova.finish_all()
        for data, code, words in (
                ({"item": str(done.pk)}, 409, "Only failed instances"),
                ({"item": "999999"}, 409, "No such item"),
                ({"item": "abc"}, 400, "numbers"),
                ({}, 409, "No instance of this batch has failed")):
            res = self.post("retry", batch, **data)
            self.assertEqual(code, res.status_code)
            self.assertIn(words, json.loads(res.content)["error"])
        self.assertEqual(2, len(self.nova.evacuations()))

    def test_retry_while_submitting_is_refused(self):
        batch = self.make_batch(2, submit=False)
        batches.claim(batch, submission.worker_name())
        res = self.post("retry", batch)
        self.assertEqual(409, res.status_code)
        self.assertIn("still being submitted", json.loads(res.content)["error"])

    def test_retry_needs_the_password_again(self):
        batch = self.make_batch(1, password="Pw-123456")
        self.nova.fail(batch.items.get().instance_id)
        res = self.post("retry", batch)
        self.assertEqual(409, res.status_code)
        self.assertIn("admin password", json.loads(res.content)["error"])
        res = self.post("retry", batch, password="Pw-123456")
        self.assertEqual(200, res.status_code, res.content)
        self.assertEqual("Pw-123456", self.nova.evacuations()[-1].body["evacuate"]["adminPass"])

    def test_retry_keeps_one_active_batch_per_host(self):
        batch = self.make_batch(1)
        self.nova.fail(batch.items.get().instance_id)
        other = batches.create_batch(
            kind="host", source_host="cmp1", servers=servers_on("cmp1", 1, prefix="x"),
            options=evac_request.EvacuateOptions(), microversion="2.94", initiator=ADMIN)
        res = self.post("retry", batch)
        self.assertEqual(409, res.status_code)
        self.assertIn("already in progress", json.loads(res.content)["error"])
        item = batch.items.get()
        self.assertEqual((1, "submitted"), (item.attempt, item.submit_state))
        batch.refresh_from_db()
        self.assertEqual("finished", batch.state)
        self.assertEqual(other.pk, batches.active_batch("cmp1").pk)

    def test_cancel_one_waiting_item_and_all_waiting_items(self):
        batch = self.make_batch(4, submit=False)
        first = batch.items.order_by("position")[0]
        res = self.post("cancel", batch, item=str(first.pk))
        self.assertEqual(200, res.status_code, res.content)
        first.refresh_from_db()
        self.assertEqual("cancelled", first.submit_state)
        res = self.post("cancel", batch, item=str(first.pk))
        self.assertEqual(409, res.status_code)
        res = self.post("cancel", batch, ajax=False)  # a plain form post: redirect back
        self.assertRedirectsNoFollow(res, url("detail", batch))
        self.assertEqual(4, batch.items.filter(submit_state="cancelled").count())
        self.assertEqual(["cancelled"] * 4, [r["state"] for r in self.poll(batch)["items"]])

    def test_cancel_everything_left_of_an_interrupted_batch_finishes_it(self):
        batch = self.make_batch(2, submit=False)
        batches.claim(batch, "gone:1")
        batches.finish_batch(batch.pk, "the worker stopped")
        batch.refresh_from_db()
        self.assertEqual("interrupted", batch.state)
        self.post("cancel", batch)
        batch.refresh_from_db()
        self.assertEqual("cancelled", batch.state)
        self.assertFalse(self.poll(batch)["resume"]["possible"])

    def test_actions_on_unknown_batches_are_json_404(self):
        for name in ("retry", "cancel", "resume"):
            res = self.post(name, "11111111-1111-1111-1111-111111111111")
            self.assertEqual(404, res.status_code)
            self.assertEqual("not_found", json.loads(res.content)["code"])

    def test_actions_are_post_only(self):
        batch = self.make_batch(1, submit=False)
        for name in ("retry", "cancel", "resume"):
            self.assertEqual(405, self.client.get(url(name, batch)).status_code)


class Issue13Tests(FakeNovaViewTests):
    """Lost answers on the page, passwords Nova returns, and what an action's error says."""

    def post(self, name, batch, **data):
        return self.client.post(url(name, batch), data, **AJAX)

    def test_a_lost_answer_is_shown_as_such_not_as_failed(self):
        batch = self.make_batch(2, submit=False)
        lost = batch.items.order_by("position")[0]
        self.nova.fates[lost.instance_id] = [DROP_AFTER]  # Nova acts, the answer is lost
        self.nova.migrations_status = 500  # and the sender cannot ask Nova at once
        with override_settings(EVAC_NOVA_TIMEOUT=60):  # nova-api may still be at work
            submission.start(batch, submission.Credentials.from_request(
                self._creds_request()), executor=_NoWait())
        self.nova.migrations_status = 200
        self.nova.servers_status = 503
        html = self.client.get(url("detail", batch)).content.decode()
        self.assertIn("Answer lost", html)
        self.assertIn("Answer lost; checking Nova", strip_tags(html))
        self.assertNotIn("Nova said:", strip_tags(html))
        self.assertIn("nothing is sent again until Nova", strip_tags(html))
        self.assertIn("1 sent, 0 refused, 0 waiting, 0 cancelled, 1 answer lost",
                      self.client.get(INDEX_URL).content.decode())
        self.nova.servers_status = 200
        self.nova.step(lost.instance_id)  # claimed: its record is in the changes-since list
        row = self.poll(batch)["items"][0]  # Nova's records show it: it was accepted
        self.assertEqual("rebuilding", row["state"])
        lost.refresh_from_db()
        self.assertEqual("submitted", lost.submit_state)
        self.assertEqual(2, len(self.nova.evacuations()))

    def test_still_in_use_naming_the_server_s_new_host_never_says_fence_it(self):
        batch = self.make_batch(1, submit=False)
        item = batch.items.get()
        self.nova.refusals[item.instance_id] = still_in_use("cmp2")  # where it runs now
        submission.start(batch, submission.Credentials.from_request(self._creds_request()),
                         executor=submission.InlineExecutor())
        row = self.poll(batch)["items"][0]
        self.assertEqual("failed", row["state"])
        self.assertIn("already left cmp1", row["text"])
        self.assertIn("do not fence it or force it down", row["text"])
        self.assertNotIn("Fence cmp2", row["text"])
        self.assertNotIn("Force Down its compute service", row["text"])

    def _password_batch(self, owner):
        servers = servers_on("cmp1", 1)
        self.nova.add_servers(servers)
        batch = batches.create_batch(
            kind=models.EvacuationBatch.KIND_HOST, source_host="cmp1", servers=servers,
            options=evac_request.EvacuateOptions(on_shared_storage=False),
            microversion="2.13", initiator=ADMIN)
        request = self._creds_request()
        request.user.id = owner
        submission.start(batch, submission.Credentials.from_request(request),
                         executor=submission.InlineExecutor())
        return batch

    def test_a_returned_password_is_shown_once_and_only_to_who_started_the_batch(self):
        batch = self._password_batch(owner=self.user.id)
        self.setActiveUser(id="another-admin", token=self.token, username="other",
                           tenant_id=self.tenant.id, service_catalog=self.service_catalog,
                           authorized_tenants=self.tenants.list())
        other = self.client.get(url("detail", batch))
        self.assertNotIn("generated-pw", other.content.decode())
        self.assertNotIn("Admin passwords Nova set", other.content.decode())
        self.setActiveUser(id=self.user.id, token=self.token, username=self.user.name,
                           tenant_id=self.tenant.id, service_catalog=self.service_catalog,
                           authorized_tenants=self.tenants.list())
        mine = self.client.get(url("detail", batch))
        self.assertIn("generated-pw", mine.content.decode())  # not consumed by the other
        self.assertEqual("no-store", mine["Cache-Control"])
        again = self.client.get(url("detail", batch))
        self.assertNotIn("generated-pw", again.content.decode())  # once

    def test_a_returned_password_is_forgotten_after_ten_minutes(self):
        now = [0.0]
        kept = submission.ReturnedPasswords(clock=lambda: now[0])
        with mock.patch.object(submission, "returned_passwords", kept):
            batch = self._password_batch(owner=self.user.id)
            now[0] += submission.ReturnedPasswords.KEEP_SECONDS
            self.assertNotIn("generated-pw",
                             self.client.get(url("detail", batch)).content.decode())

    def test_item_ids_outside_a_positive_63_bit_range_are_a_400(self):
        batch = self.make_batch(2, submit=False)
        for name in ("cancel", "retry"):
            for bad in ("999999999999999999999999999999", "9223372036854775808", "0",
                        "-1", "\u0661\u0662", "1e3", "9" * 5000):
                res = self.post(name, batch, item=bad)
                self.assertEqual(400, res.status_code, (name, bad, res.content[:300]))
                answer = json.loads(res.content)
                self.assertEqual("bad_item", answer["code"])
                self.assertIn("whole numbers from 1 to 9223372036854775807", answer["error"])
                self.assertNotIn("sqlite", answer["error"].lower())
                self.assertLess(len(answer["error"]), 200)
        top = self.post("cancel", batch, item="9223372036854775807")  # the largest: no such
        self.assertEqual(409, top.status_code)
        self.assertIn("No such item", json.loads(top.content)["error"])

    def test_an_internal_error_s_text_never_reaches_the_answer(self):
        batch = self.make_batch(1, submit=False)
        secret = "no such table: evac_dashboard_secret_internals"
        with mock.patch.object(evacuations, "cancel",
                               side_effect=db.OperationalError(secret)):
            res = self.post("cancel", batch)
        self.assertEqual(500, res.status_code)
        answer = json.loads(res.content)
        self.assertEqual("internal_error", answer["code"])
        self.assertNotIn("evac_dashboard_secret_internals", answer["error"])
        self.assertNotIn("OperationalError", answer["error"])
        self.assertIn("internal error of the dashboard", answer["error"])
        nova_says = nova_exceptions.ClientException(503, "Nova is restarting")
        with mock.patch.object(evacuations, "cancel", side_effect=nova_says):
            res = self.post("cancel", batch)
        self.assertEqual(502, res.status_code)
        self.assertIn("Nova is restarting", json.loads(res.content)["error"])


class _NoWait(submission.InlineExecutor):
    """Inline, and the run's last check of lost answers does not wait for the settle time."""

    def submit(self, function, *args, **kwargs):
        with mock.patch("threading.Event.wait", return_value=True):
            return super().submit(function, *args, **kwargs)


class PermissionTests(test.TestCase):
    """Horizon's plain ``TestCase`` user is a member (no admin role)."""

    def test_non_admin_gets_no_json_and_changes_nothing(self):
        batch = batches.create_batch(
            kind="host", source_host="cmp1", servers=servers_on("cmp1", 1),
            options=evac_request.EvacuateOptions(), microversion="2.94", initiator=ADMIN)
        for res in (self.client.get(url("progress", batch), **AJAX),
                    self.client.get(url("detail", batch)),
                    self.client.post(url("cancel", batch), **AJAX),
                    self.client.post(url("resume", batch), **AJAX)):
            self.assertEqual(403, res.status_code)
        self.assertEqual("pending", batch.items.get().submit_state)
