"""The per-host evacuate wizard with the API layer (Nova and Placement) mocked."""
import json
from unittest import mock

from django.urls import reverse

from openstack_dashboard.test import helpers as test

from evac_dashboard.models import AuditRecord
from evac_dashboard import models
from evac_dashboard.api import nova
from evac_dashboard.api import placement
from evac_dashboard.operations import submission
from evac_dashboard.rules import request as evac_request
from evac_dashboard.store import audit
from evac_dashboard.store import batches
from tests.unit import factories

WIZARD_URL = reverse("horizon:admin:evac_hosts:wizard", args=["cmp1"])
PREVIEW_URL = reverse("horizon:admin:evac_hosts:wizard_capacity", args=["cmp1"])


def inventory(total, ratio=1.0, reserved=0, max_unit=None):
    return {"total": total, "reserved": reserved, "allocation_ratio": ratio, "min_unit": 1,
            "max_unit": max_unit or total, "step_size": 1}


def provider(vcpus, ram_mb, used_vcpu=0, used_ram=0):
    return {"inventories": {"VCPU": inventory(vcpus, ratio=4.0),
                            "MEMORY_MB": inventory(ram_mb, reserved=512),
                            "DISK_GB": inventory(2000)},
            "usages": {"VCPU": used_vcpu, "MEMORY_MB": used_ram, "DISK_GB": 0}}


def mock_wizard_reads(case):
    """Mock the wizard's Nova and Placement reads for ``case`` (``case.mock_<name>``)."""
    for name in ("service_get", "service_list", "negotiated_version", "servers_on_host",
                 "hypervisor_list"):
        patcher = mock.patch.object(nova, name)
        setattr(case, "mock_" + name, patcher.start())
        case.addCleanup(patcher.stop)
    patcher = mock.patch.object(placement, "provider_capacity")
    case.mock_capacity = patcher.start()
    case.addCleanup(patcher.stop)


class WizardCase(test.BaseAdminViewTests):
    """A failed host cmp1 with four instances and three other hosts, Nova and Placement
    mocked."""

    def setUp(self):
        super().setUp()
        mock_wizard_reads(self)
        self.servers = [
            factories.server("big-db", "cmp1", ram=16384, vcpus=8, volume_backed=True,
                             metadata={"evac:restart_priority": "10"}),
            factories.server("web-1", "cmp1", ram=2048, vcpus=2),
            factories.server("web-2", "cmp1", ram=2048, vcpus=2),
            factories.server("paused", "cmp1", status="PAUSED", vm_state="paused"),
        ]
        self.source = factories.service("cmp1", state="down", forced_down=True)
        self.mock_service_get.return_value = self.source
        self.mock_service_list.return_value = [
            self.source, factories.service("cmp2"), factories.service("cmp3"),
            factories.service("cmp4", status="disabled", reason="maintenance")]
        self.mock_negotiated_version.return_value = (2, 96)
        self.mock_servers_on_host.return_value = self.servers
        self.mock_hypervisor_list.return_value = (
            [factories.hypervisor(h) for h in ("cmp1", "cmp2", "cmp3", "cmp4")], True)
        hv_ids = {h["service"]["host"]: h["id"] for h in self.mock_hypervisor_list.return_value[0]}
        self.providers = {hv_ids["cmp2"]: provider(4, 8192 + 512),   # 16 vCPU, 8 GiB free
                          hv_ids["cmp3"]: provider(8, 32768 + 512),  # 32 vCPU, 32 GiB free
                          hv_ids["cmp4"]: provider(64, 262144)}
        self.mock_capacity.side_effect = lambda request, uuids: {
            u: self.providers[u] for u in uuids if u in self.providers}

    def ids(self, *names):
        by_name = {s["name"]: s["id"] for s in self.servers}
        return [by_name[n] for n in names]

    def final_data(self, **overrides):
        data = {"fenced": "on", "instances": self.ids("big-db", "web-1", "web-2"),
                "mode": "scheduler", "target_host": "", "power_state": "running",
                "password": "", "confirm_password": "", "concurrency": "4",
                "acknowledge_local_disks": "on", "confirm": "on"}
        data.update(overrides)
        return data

    def final_post(self, **overrides):
        return self.client.post(WIZARD_URL, self.final_data(**overrides))


class WizardTests(WizardCase):
    def test_page_has_five_steps_and_the_eligible_instances(self):
        res = self.client.get(WIZARD_URL)
        self.assertTemplateUsed(res, "evac_dashboard/wizard/wizard.html")
        html = res.content.decode()
        for step in ("Host", "Instances", "Targets and capacity", "Options", "Confirm"):
            self.assertTrue(step in html, step)
        self.assertTrue("big-db" in html and "web-2" in html)
        self.assertTrue("Cannot be evacuated" in html and "paused" in html)
        self.assertTrue('id="evac-capacity-preview"' in html)

    @mock.patch.object(submission, "start")
    def test_finishing_starts_a_batch_of_the_selected_instances(self, start):
        res = self.final_post(instances=self.ids("big-db", "web-2"))
        batch = models.EvacuationBatch.objects.get()
        self.assertRedirectsNoFollow(
            res, reverse("horizon:admin:evac_batches:detail", args=[batch.pk]))
        self.assertEqual(["big-db", "web-2"],
                         [i.instance_name for i in batch.items.order_by("position")])
        self.assertEqual(4, batch.concurrency)
        start.assert_called_once()

    @mock.patch.object(submission, "start")
    def test_plan_mode_pins_each_instance_to_the_planned_host(self, start):
        self.final_post(mode="plan")
        items = {i.instance_name: i.requested_target
                 for i in models.EvacuationBatch.objects.get().items.all()}
        self.assertEqual("cmp3", items["big-db"])  # 16 GiB only fits on cmp3
        self.assertTrue(set(items.values()) <= {"cmp2", "cmp3"})

    @mock.patch.object(submission, "start")
    def test_host_still_up_blocks_the_wizard(self, start):
        self.mock_service_get.return_value = factories.service("cmp1", state="up")
        res = self.final_post()
        self.assertContains(res, "still sees nova-compute on cmp1 as up")
        self.assertFalse(models.EvacuationBatch.objects.exists())
        start.assert_not_called()

    @mock.patch.object(submission, "start")
    def test_one_host_that_cannot_take_everything_needs_acknowledgement(self, start):
        res = self.final_post(mode="host", target_host="cmp2")
        self.assertContains(res, "The capacity estimate says 1 instance does not fit")
        self.assertFalse(models.EvacuationBatch.objects.exists())
        self.final_post(mode="host", target_host="cmp2", accept_shortfall="on")
        self.assertEqual("cmp2", models.EvacuationBatch.objects.get().target_host)

    def test_capacity_preview_explains_host_by_host(self):
        res = self.client.get(PREVIEW_URL, {"instances": self.ids("big-db", "web-1"),
                                            "mode": "host", "target": "cmp2"})
        data = json.loads(res.content)
        self.assertFalse(data["all_fit"])
        self.assertEqual(1, data["unplaced"])
        # Larger than one allocation on cmp2 can be (max_unit = its physical size).
        self.assertIn("cmp2: needs 16384 MiB RAM, at most 8704 in one allocation (max_unit)",
                      data["html"])
        self.assertIn("cmp4", data["html"])  # listed as excluded: disabled
        res = self.client.get(PREVIEW_URL, {"instances": self.ids("big-db", "web-1")})
        self.assertTrue(json.loads(res.content)["all_fit"])

    def test_capacity_preview_rejects_bad_mode_with_json(self):
        res = self.client.get(PREVIEW_URL, {"mode": "teleport"})
        self.assertEqual(400, res.status_code)
        self.assertIn("Unknown mode", json.loads(res.content)["error"])

    def test_placement_failure_still_renders_the_wizard(self):
        self.mock_capacity.side_effect = RuntimeError("placement is down")
        res = self.client.get(PREVIEW_URL, {"instances": self.ids("web-1")})
        self.assertIn("Placement could not be read", json.loads(res.content)["html"])


class WizardStartTests(WizardCase):
    """The wizard starts through the same use case as the modals: same checks, same
    acknowledgements, same clean-up, and the operator sees the real reason of a refusal."""

    @mock.patch.object(submission, "start")
    def test_local_root_disks_need_the_acknowledgement(self, start):
        res = self.final_post(instances=self.ids("big-db", "web-1"), acknowledge_local_disks="")
        self.assertContains(res, "rebuilt from their image")
        self.assertContains(res, "web-1")
        self.assertFalse(models.EvacuationBatch.objects.exists())
        start.assert_not_called()

    @mock.patch.object(submission, "start")
    def test_volume_backed_only_needs_no_acknowledgement(self, start):
        self.final_post(instances=self.ids("big-db"), acknowledge_local_disks="")
        self.assertEqual(1, models.EvacuationBatch.objects.count())

    @mock.patch.object(submission, "start")
    def test_a_refusal_shows_its_reason_never_started(self, start):
        running = batches.create_batch(
            kind="host", source_host="cmp1", servers=self.servers[:1],
            options=evac_request.EvacuateOptions(),
            microversion="2.94", initiator=batches.Initiator("u1"))
        res = self.final_post()
        messages = [str(m) for m in res.wsgi_request._messages]
        self.assertTrue(any("already running" in m for m in messages), messages)
        self.assertFalse(any("started" in m and "not" not in m for m in messages), messages)
        self.assertTrue(any(str(running.pk) in m for m in messages), messages)
        start.assert_not_called()

    @mock.patch.object(audit, "begin_batch_action", side_effect=RuntimeError("db is gone"))
    @mock.patch.object(submission, "start")
    def test_audit_failure_releases_the_host(self, start, begin):
        res = self.final_post()
        self.assertNotEqual(500, res.status_code)
        self.assertIsNone(batches.active_batch("cmp1"))
        batch = models.EvacuationBatch.objects.get()
        self.assertEqual(models.EvacuationBatch.CANCELLED, batch.state)
        start.assert_not_called()

    @mock.patch.object(submission, "start", side_effect=batches.BatchNotStartable("claimed"))
    def test_claim_failure_releases_the_host_and_says_why(self, start):
        res = self.final_post()
        self.assertNotEqual(500, res.status_code)
        self.assertIsNone(batches.active_batch("cmp1"))
        messages = [str(m) for m in res.wsgi_request._messages]
        self.assertTrue(any("could not start" in m for m in messages), messages)
        record = models.AuditRecord.objects.get()
        self.assertEqual(AuditRecord.FAILED, record.outcome)

    @mock.patch.object(submission, "start")
    def test_force_the_microversion_lacks_is_refused_not_dropped(self, start):
        res = self.final_post(mode="host", target_host="cmp3", force="on",
                              accept_shortfall="on")
        self.assertFalse(models.EvacuationBatch.objects.exists())
        messages = [str(m) for m in res.wsgi_request._messages]
        self.assertTrue(any("Forcing the target host is not possible" in m for m in messages)
                        or b"Forcing the target host is not possible" in res.content, messages)
        start.assert_not_called()


class WizardConfirmTests(WizardCase):
    def test_confirm_step_says_which_local_disks_lose_their_data(self):
        html = self.client.get(WIZARD_URL).content.decode()
        confirm = html[html.index("evac-local-disks"):]
        confirm = confirm[:confirm.index("</div>")]
        self.assertIn("Data on local root disks is lost", confirm)
        self.assertIn("web-1", confirm)
        self.assertIn("web-2", confirm)
        self.assertNotIn("big-db", confirm)  # volume-backed
        self.assertIn('name="acknowledge_local_disks"', html)

    def test_priority_reads_as_on_the_host_page(self):
        self.servers[1]["metadata"] = {"evac:restart_priority": "soon"}
        html = self.client.get(WIZARD_URL).content.decode()
        self.assertIn("priority 10", html)        # big-db
        self.assertIn("invalid priority", html)   # web-1
        self.assertNotIn("priority 0", html)      # web-2 has none: "priority -"
        self.assertIn("priority -", html)

    def test_a_priority_beyond_the_database_column_reads_invalid_never_a_500(self):
        """A tenant's number too big for MariaDB's INT (issue 13): shown as invalid."""
        for raw in ("2147483648", "-2147483649", "100000000000000000000", "9" * 400):
            self.servers[1]["metadata"] = {"evac:restart_priority": raw}
            res = self.client.get(WIZARD_URL)
            self.assertEqual(200, res.status_code, raw)
            html = res.content.decode()
            self.assertIn("invalid priority", html, raw)
            self.assertNotIn("priority %s" % raw, html)  # never used as a number


class NoTargetTests(WizardCase):
    @mock.patch.object(submission, "start")
    def test_no_possible_target_stops_the_wizard_and_the_modal_start(self, start):
        self.mock_service_list.return_value = [
            self.source, factories.service("cmp2", state="down"),
            factories.service("cmp3", forced_down=True, state="down"),
            factories.service("cmp4", status="disabled", reason="maintenance")]
        res = self.final_post()
        self.assertContains(res, "No valid host")
        self.assertFalse(models.EvacuationBatch.objects.exists())
        start.assert_not_called()
