"""The table views' guard (content/table_actions.py): a table action a page does not have is
answered with a message and a redirect to the page, never Horizon's 500."""
from django.contrib.messages import get_messages
from django.urls import reverse

from openstack_dashboard.test import helpers as test

from evac_dashboard.api import nova
from evac_dashboard.content import table_actions
from evac_dashboard.content.hosts import tables as host_tables
from tests.unit import factories

HOSTS_URL = reverse("horizon:admin:evac_hosts:index")
BATCHES_URL = reverse("horizon:admin:evac_batches:index")
HISTORY_URL = reverse("horizon:admin:evac_history:index")
BAD_ACTIONS = ("", "0", " ", "compute_hosts", "compute_hosts__", "__", "history__filter",
               "compute_hosts__filter", "compute_hosts__view__cmp1", "nope__delete__1",
               "compute_hosts__évacuer", "\u202e__\x00")


class TableActionGuardTests(test.BaseAdminViewTests):
    def _cloud(self):
        answers = {"service_list": [factories.service("cmp1")],
                   "hypervisor_list": ([factories.hypervisor("cmp1")], True),
                   "negotiated_version": (2, 96), "service_get": factories.service("cmp1"),
                   "servers_on_host": [factories.server("web-1", "cmp1")]}
        for name, answer in answers.items():
            if hasattr(self, "mock_" + name):
                getattr(self, "mock_" + name).return_value = answer

    def assert_refused(self, res, url):
        self.assertRedirectsNoFollow(res, url)
        self.assertIn(str(table_actions.BAD_ACTION),
                      [str(m) for m in get_messages(res.wsgi_request)])

    @test.create_mocks({nova: ["service_list", "hypervisor_list", "negotiated_version"]})
    def test_hosts_page_refuses_every_malformed_or_unknown_action(self):
        self._cloud()
        for action in BAD_ACTIONS:
            with self.subTest(action=action):
                self.assert_refused(self.client.post(HOSTS_URL, {"action": action}),
                                    HOSTS_URL)
        self.mock_service_list.assert_not_called()  # refused before any Nova read

    @test.create_mocks({nova: ["service_get", "servers_on_host", "service_list",
                               "hypervisor_list", "negotiated_version"]})
    def test_host_page_refuses_a_get_naming_a_link_action(self):
        self._cloud()
        url = reverse("horizon:admin:evac_hosts:detail", args=["cmp1"])
        res = self.client.get(url, {"table": "host_instances", "action": "evacuate",
                                    "obj_id": "x"})
        self.assert_refused(res, url)
        res = self.client.post(url, {"action": "host_instances__filter"})
        self.assert_refused(res, url)

    def test_batches_and_history_pages_refuse_them_too(self):
        for url, action in ((BATCHES_URL, "0"), (BATCHES_URL, "batches__x__y"),
                            (HISTORY_URL, "history__filter"), (HISTORY_URL, "history__export"),
                            (HISTORY_URL, "")):
            with self.subTest(url=url, action=action):
                self.assert_refused(self.client.post(url, {"action": action}), url)

    def test_the_history_filter_box_still_works(self):
        res = self.client.post(HISTORY_URL, {"history__filter__q_field": "host",
                                             "history__filter__q": "cmp1"})
        self.assertRedirectsNoFollow(res, HISTORY_URL)
        self.assertEqual([], [str(m) for m in get_messages(res.wsgi_request)])

    @test.create_mocks({nova: ["service_list", "hypervisor_list", "negotiated_version"]})
    def test_a_page_without_an_action_is_shown(self):
        self._cloud()
        self.assertEqual(200, self.client.get(HOSTS_URL).status_code)


class HandledActionRuleTests(test.TestCase):
    def test_only_row_or_batch_actions_of_the_method_are_handled(self):
        table = host_tables.ComputeHostsTable(self.factory.get(HOSTS_URL))
        self.assertFalse(table_actions.is_handled(table, "filter", "POST"))   # FilterAction
        self.assertFalse(table_actions.is_handled(table, "view", "GET"))      # LinkAction
        self.assertFalse(table_actions.is_handled(table, "row_update", "GET"))  # no AJAX rows
        self.assertFalse(table_actions.is_handled(table, "missing", "POST"))
