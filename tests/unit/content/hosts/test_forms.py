"""Force Down / Unset Force Down / Disable / Enable: modals, confirmation, Nova refusals."""
from django.urls import reverse
from novaclient import exceptions as nova_exceptions

from openstack_dashboard.test import helpers as test

from evac_dashboard.api import actions
from evac_dashboard.api import nova
from tests.unit import factories

INDEX_URL = reverse("horizon:admin:evac_hosts:index")


def url(name, host="cmp1"):
    return reverse("horizon:admin:evac_hosts:" + name, args=[host])


class ForceDownTests(test.BaseAdminViewTests):
    @test.create_mocks({nova: ["service_get"]})
    def test_modal_warns_about_fencing(self):
        self.mock_service_get.return_value = factories.service("cmp1", state="down")
        res = self.client.get(url("force_down"))
        self.assertTemplateUsed(res, "evac_dashboard/hosts/service_form.html")
        self.assertContains(res, "really powered off or isolated")
        self.assertContains(res, "Type the host name")

    @test.create_mocks({nova: ["service_get"], actions: ["force_down", "set_service_status"]})
    def test_wrong_name_is_refused_and_nothing_sent(self):
        self.mock_service_get.return_value = factories.service("cmp1", state="down")
        res = self.client.post(url("force_down"), {"host": "cmp1", "confirm_host": "cmp10",
                                                   "disable": "on", "reason": "x"})
        self.assertContains(res, "does not match cmp1")
        self.mock_force_down.assert_not_called()
        self.mock_set_service_status.assert_not_called()

    @test.create_mocks({nova: ["service_get"], actions: ["force_down", "set_service_status"]})
    def test_typed_name_forces_down_and_disables_with_reason(self):
        service = factories.service("cmp1", state="down")
        self.mock_service_get.return_value = service
        res = self.client.post(url("force_down"), {"host": "cmp1", "confirm_host": "cmp1",
                                                   "disable": "on", "reason": "PSU dead"})
        self.assertNoFormErrors(res)
        self.assertRedirectsNoFollow(res, INDEX_URL)
        self.mock_force_down.assert_called_once_with(test.IsHttpRequest(), service, True, [])
        self.mock_set_service_status.assert_called_once_with(
            test.IsHttpRequest(), service, False, "PSU dead", [])

    @test.create_mocks({nova: ["service_get"], actions: ["force_down", "set_service_status"]})
    def test_already_disabled_service_is_not_disabled_again(self):
        service = factories.service("cmp1", state="down", status="disabled", reason="old")
        self.mock_service_get.return_value = service
        self.client.post(url("force_down"), {"host": "cmp1", "confirm_host": "cmp1",
                                             "disable": "on", "reason": "new"})
        self.mock_force_down.assert_called_once()
        self.mock_set_service_status.assert_not_called()


class UnsetForceDownTests(test.BaseAdminViewTests):
    @test.create_mocks({nova: ["service_get"], actions: ["force_down"]})
    def test_nova_refusal_while_done_records_remain_becomes_advice(self):
        self.mock_service_get.return_value = factories.service(
            "cmp1", state="down", forced_down=True)
        self.mock_force_down.side_effect = nova_exceptions.BadRequest(
            400, "Unable to force up host cmp1 as `done` evacuation migration records remain "
                 "associated with the host. Ensure the compute service has been restarted, "
                 "allowing these records to move to `completed` before retrying this request.")
        res = self.client.post(url("unset_force_down"), {"host": "cmp1"})
        self.assertEqual(200, res.status_code)  # the modal again, with the advice
        self.assertContains(res, "restart")
        self.assertContains(res, "Nova said: Unable to force up host cmp1")
        self.mock_force_down.assert_called_once_with(
            test.IsHttpRequest(), self.mock_service_get.return_value, False, [])

    @test.create_mocks({nova: ["service_get"], actions: ["force_down"]})
    def test_success(self):
        self.mock_service_get.return_value = factories.service(
            "cmp1", state="up", forced_down=True)
        res = self.client.post(url("unset_force_down"), {"host": "cmp1"})
        self.assertRedirectsNoFollow(res, INDEX_URL)
        self.assertMessageCount(success=1)


class ServiceStatusTests(test.BaseAdminViewTests):
    @test.create_mocks({nova: ["service_get"], actions: ["set_service_status"]})
    def test_disable_with_reason(self):
        service = factories.service("cmp1")
        self.mock_service_get.return_value = service
        res = self.client.post(url("disable"), {"host": "cmp1", "reason": "maintenance"})
        self.assertRedirectsNoFollow(res, INDEX_URL)
        self.mock_set_service_status.assert_called_once_with(
            test.IsHttpRequest(), service, False, "maintenance", [])

    @test.create_mocks({nova: ["service_get"], actions: ["set_service_status"]})
    def test_enable(self):
        service = factories.service("cmp1", status="disabled", reason="maintenance")
        self.mock_service_get.return_value = service
        res = self.client.post(url("enable"), {"host": "cmp1"})
        self.assertRedirectsNoFollow(res, INDEX_URL)
        self.mock_set_service_status.assert_called_once_with(test.IsHttpRequest(), service, True,
                                                             request_ids=[])

    @test.create_mocks({nova: ["service_get"], actions: ["set_service_status"]})
    def test_unknown_host(self):
        self.mock_service_get.return_value = None
        res = self.client.get(url("disable", "ghost"))
        self.assertRedirectsNoFollow(res, INDEX_URL)


class RowActionTests(test.BaseAdminViewTests):
    @test.create_mocks({nova: ["service_list", "hypervisor_list", "negotiated_version",
                               "supports"]})
    def test_actions_offered_only_when_they_can_work(self):
        self.mock_service_list.return_value = [
            factories.service("up1"),
            factories.service("dead", state="down"),
            factories.service("fenced", state="down", forced_down=True, status="disabled"),
        ]
        self.mock_hypervisor_list.return_value = ([], True)
        self.mock_negotiated_version.return_value = (2, 96)
        self.mock_supports.return_value = True
        res = self.client.get(INDEX_URL)
        html = res.content.decode()
        self.assertTrue(url("force_down", "dead") in html)
        self.assertTrue(url("force_down", "up1") in html)
        self.assertFalse(url("force_down", "fenced") in html)
        self.assertTrue(url("unset_force_down", "fenced") in html)
        self.assertFalse(url("unset_force_down", "dead") in html)
        self.assertTrue(url("enable", "fenced") in html)
        self.assertFalse(url("enable", "up1") in html)

    @test.create_mocks({nova: ["service_list", "hypervisor_list", "negotiated_version",
                               "supports"]})
    def test_no_force_down_below_2_11(self):
        self.mock_service_list.return_value = [factories.service("dead", state="down")]
        self.mock_hypervisor_list.return_value = ([], False)
        self.mock_negotiated_version.return_value = (2, 10)
        self.mock_supports.return_value = False
        res = self.client.get(INDEX_URL)
        self.assertFalse(url("force_down", "dead") in res.content.decode())
