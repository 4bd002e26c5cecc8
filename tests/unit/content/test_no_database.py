"""Horizon without a database for the plugin (Kolla-Ansible's default): every page says
which settings to add, Compute Hosts still lists the hosts, nothing answers 500 and
nothing is presented as Nova's refusal."""
import json
import warnings

from django.test import override_settings
from django.urls import reverse

from openstack_dashboard.test import helpers as test

from evac_dashboard.api import actions
from evac_dashboard.api import nova
from tests.unit import factories

NO_DATABASE = {}  # what Django has when a deployment sets no DATABASES
AJAX = {"HTTP_X_REQUESTED_WITH": "XMLHttpRequest"}
BATCH = "0b6f6c4e-5f43-4bb5-9a3c-6f6d1f1a2b3c"


def without_database():
    warnings.filterwarnings("ignore", message="Overriding setting DATABASES")
    return override_settings(DATABASES=NO_DATABASE)


class NoDatabaseTests(test.BaseAdminViewTests):
    @test.create_mocks({nova: ["service_list", "hypervisor_list", "negotiated_version"]})
    def test_compute_hosts_lists_the_hosts_and_says_what_to_configure(self):
        self.mock_service_list.return_value = [factories.service("cmp1", state="down")]
        self.mock_hypervisor_list.return_value = ([factories.hypervisor("cmp1")], True)
        self.mock_negotiated_version.return_value = (2, 96)
        with without_database():
            res = self.client.get(reverse("horizon:admin:evac_hosts:index"))
        self.assertEqual(200, res.status_code)
        self.assertEqual(["cmp1"], [row.host for row in res.context["table"].data])
        self.assertContains(res, "horizon_backend_database")
        self.assertContains(res, "DATABASES")

    @test.create_mocks({nova: ["service_get"], actions: ["force_down"]})
    def test_actions_that_write_records_explain_instead_of_failing(self):
        pages = [reverse("horizon:admin:evac_hosts:force_down", args=["cmp1"]),
                 reverse("horizon:admin:evac_hosts:evacuate_host", args=["cmp1"]),
                 reverse("horizon:admin:evac_hosts:wizard", args=["cmp1"]),
                 reverse("horizon:admin:evac_batches:index"),
                 reverse("horizon:admin:evac_batches:detail", args=[BATCH]),
                 reverse("horizon:admin:evac_history:index"),
                 reverse("horizon:admin:evac_history:export")]
        with without_database():
            for url in pages:
                for extra in ({}, AJAX):
                    res = self.client.get(url, **extra)
                    self.assertEqual(200, res.status_code, url)
                    self.assertContains(res, "horizon_backend_database", msg_prefix=url)
                    self.assertNotContains(res, "Nova refused", msg_prefix=url)
            res = self.client.post(pages[0], {"host": "cmp1", "confirm_host": "cmp1"})
            self.assertContains(res, "horizon_backend_database")
        self.mock_force_down.assert_not_called()

    def test_json_endpoints_answer_a_json_error(self):
        with without_database():
            res = self.client.get(reverse("horizon:admin:evac_batches:progress",
                                          args=[BATCH]), **AJAX)
            self.assertEqual(503, res.status_code)
            self.assertEqual("no_database", json.loads(res.content)["code"])
            res = self.client.post(reverse("horizon:admin:evac_batches:cancel", args=[BATCH]),
                                   HTTP_ACCEPT="application/json", **AJAX)
            self.assertEqual(503, res.status_code)
