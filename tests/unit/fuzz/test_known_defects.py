"""The defects the fuzz found, each as its smallest reproduction, expected to fail (strict):
when one is fixed its test passes, which fails the run until the ``xfail`` mark here and the
defect's entry in ``oracle.KNOWN_DEFECTS`` (which excuses it inside the fuzz) are removed.

Each reproduction checks the answer with no excuse (``send(..., excuse=False)``): no 5xx,
no traceback, no password echo, no redirect off the site.
"""
import pytest

from evac_dashboard.content.evacuate import reviewed
from tests.unit import factories
from tests.unit.fuzz import cloud
from tests.unit.fuzz import endpoints
from tests.unit.fuzz import oracle

AJAX = {"HTTP_X_REQUESTED_WITH": "XMLHttpRequest", "HTTP_ACCEPT": "application/json"}
PASSWORD = "PwFz0123456789ab"
WIZARD = endpoints.HOSTS + "cmp1/wizard/"


def known(defect_id):
    return pytest.mark.xfail(strict=True, raises=oracle.FuzzFailure,
                             reason="%s: %s" % (defect_id, oracle.defect(defect_id).reason))


def admin(endpoint, method, path, **fields):
    return oracle.Request(endpoint, cloud.ADMIN, method, path, **fields)


class KnownDefectTests(cloud.FuzzCase):
    def reproduce(self, defect_id, request):
        """Send ``request`` unexcused: a ``FuzzFailure`` only when it fails the way
        ``defect_id`` says (any other failure is an ordinary error, not the expected one)."""
        defect = oracle.defect(defect_id)
        with self.example():
            try:
                self.send(request, excuse=False)
            except oracle.FuzzFailure as failure:
                other = [p for p in failure.problems
                         if not defect.matches(request, failure.status, failure.text + p)]
                if other:
                    raise RuntimeError("not (only) %s: %s" % (defect_id, other)) from None
                raise

    def check(self, request):
        """A fixed defect's reproduction, kept as a regression test: answered unexcused."""
        with self.example():
            return self.send(request, excuse=False)

    def wizard_post(self, **overrides):
        data = dict(fenced="on", instances=self.server_id("web-1"), mode="scheduler",
                    target_host="", power_state="running", admin_pass=PASSWORD,
                    confirm_admin_pass=PASSWORD, concurrency="1",
                    acknowledge_local_disks="on", confirm="on")
        data.update(overrides)
        return admin("evac_hosts:wizard", "POST", WIZARD, data=list(data.items()),
                     passwords=(PASSWORD,))

    def server_id(self, name):
        return next(s["id"] for s in self.nova.servers if s["name"] == name)

    def test_table_post_with_an_empty_action(self):
        answer = self.check(admin(
            "evac_hosts:index", "POST", endpoints.HOSTS, data=[("action", "")]))
        self.assertEqual(302, answer.status_code)
        self.assertTrue(answer["Location"].endswith(endpoints.HOSTS), answer["Location"])

    def test_table_post_naming_the_filter_action(self):
        answer = self.check(admin(
            "evac_history:index", "POST", endpoints.HISTORY,
            data=[("action", "history__filter")]))
        self.assertEqual(302, answer.status_code)

    def test_table_post_with_an_action_without_a_table(self):
        answer = self.check(admin(
            "evac_batches:index", "POST", endpoints.BATCHES, data=[("action", "0")]))
        self.assertEqual(302, answer.status_code)

    def test_table_get_naming_a_link_action(self):
        answer = self.check(admin(
            "evac_hosts:detail", "GET", endpoints.HOSTS + "cmp1/",
            query=[("table", "host_instances"), ("action", "evacuate")]))
        self.assertEqual(302, answer.status_code)

    def test_wizard_next_that_is_not_a_url(self):
        answer = self.check(self.wizard_post(next="x"))
        self.assertEqual(302, answer.status_code)
        self.assertIn("/admin/evac_batches/", answer["Location"])

    def test_wizard_next_to_another_site(self):
        for unsafe in ("http://evil.example/", "//evil.example/", "/\\evil.example/"):
            answer = self.check(self.wizard_post(next=unsafe))
            self.assertEqual(302, answer.status_code)
            self.assertIn("/admin/evac_batches/", answer["Location"])

    def test_wizard_next_to_a_page_of_the_site_is_followed(self):
        answer = self.check(self.wizard_post(next=endpoints.HISTORY))
        self.assertEqual(302, answer.status_code)
        self.assertTrue(answer["Location"].endswith(endpoints.HISTORY), answer["Location"])

    def test_capacity_of_an_overlong_host_name(self):
        answer = self.check(admin(
            "evac_hosts:wizard_capacity", "GET",
            endpoints.HOSTS + "x" * 70000 + "/wizard/capacity/"))
        self.assertEqual(404, answer.status_code)

    def test_hosts_page_with_a_nova_host_named_with_a_slash(self):
        self.nova.services.append(factories.service("rack1/cmp9"))
        self.saved_nova = self.nova.save()
        self.check(admin("evac_hosts:index", "GET",
                                                     endpoints.HOSTS))


    def test_service_modal_posted_with_the_add_to_field_header(self):
        answer = self.check(admin(
            "evac_hosts:enable", "POST", endpoints.HOSTS + "cmp3/enable/",
            data=[("host", "cmp3")], headers={"HTTP_X_HORIZON_ADD_TO_FIELD": "x"}))
        self.assertEqual(302, answer.status_code)
        self.assertNotIn("X-Horizon-Add-To-Field", answer)

    def test_evacuate_modal_posted_with_the_add_to_field_header(self):
        token = reviewed.sign("cmp1", [s for s in self.nova.servers if s["name"] == "web-1"])
        answer = self.check(admin(
            "evac_hosts:evacuate_host", "POST", endpoints.HOSTS + "cmp1/evacuate/",
            data=[("host", "cmp1"), ("reviewed", token), ("acknowledge_local_disks", "on")],
            headers={"HTTP_X_HORIZON_ADD_TO_FIELD": "x"}))
        self.assertEqual(302, answer.status_code)
        self.assertIn("/admin/evac_batches/", answer["Location"])

    def test_history_filtered_by_a_huge_host_name(self):
        answer = self.check(admin(
            "evac_history:index", "GET", endpoints.HISTORY, query=[("host", "x" * 60000)]))
        self.assertEqual(200, answer.status_code)

    def test_history_export_filtered_by_a_huge_user_name(self):
        answer = self.check(admin(
            "evac_history:export", "GET", endpoints.HISTORY + "export.csv",
            query=[("user", "x" * 60000)]))
        self.assertEqual(400, answer.status_code)

    def test_evacuate_modal_of_a_host_with_a_heartbeat_in_year_9999(self):
        self.nova.services[0].update(state="up", forced_down=False,
                                     updated_at="9999-12-31T23:59:59.000000")
        self.saved_nova = self.nova.save()
        self.check(admin(
            "evac_hosts:evacuate_host", "GET", endpoints.HOSTS + "cmp1/evacuate/"))

    def test_hosts_page_with_a_heartbeat_in_year_1_east_of_utc(self):
        self.nova.services[1]["updated_at"] = "0001-01-01T00:00:00+05:00"
        self.saved_nova = self.nova.save()
        self.check(admin("evac_hosts:index", "GET",
                                                   endpoints.HOSTS))


    def test_capacity_preview_with_an_allocation_ratio_of_1e308(self):
        for provider in self.nova.providers.values():
            provider["inventories"]["VCPU"]["allocation_ratio"] = 1e308
        self.saved_nova = self.nova.save()
        self.check(admin(
            "evac_hosts:wizard_capacity", "GET", endpoints.HOSTS + "cmp1/wizard/capacity/",
            query=[("instances", self.server_id("web-1")), ("mode", "plan")]))


    def test_unrouted_post_with_a_multipart_body_without_boundary(self):
        request = admin("evac_batches:retry", "POST", endpoints.BATCHES + "/retry/",
                        raw_body=b"item=1", content_type="multipart/form-data")
        request.csrf = oracle.CSRF_VALID
        self.assertEqual(400, self.check(request).status_code)  # was django-404-unreadable-body

    def test_unrouted_history_post_with_a_multipart_body_without_boundary(self):
        request = admin("evac_history:detail", "POST", endpoints.HISTORY + "x/",
                        raw_body=b"item=1", content_type="multipart/form-data")
        request.csrf = oracle.CSRF_VALID
        self.assertEqual(400, self.check(request).status_code)

    def test_unrouted_history_post_with_too_many_fields(self):
        request = admin("evac_history:detail", "POST", endpoints.HISTORY + "/",
                        raw_body=b"&".join(b"f%d=1" % i for i in range(1100)))
        request.csrf = oracle.CSRF_VALID
        self.assertEqual(400, self.check(request).status_code)

    def test_unrouted_post_with_too_many_fields(self):
        request = admin("evac_hosts:wizard", "POST", endpoints.HOSTS + "/wizard/",
                        raw_body=b"&".join(b"f%d=1" % i for i in range(1100)))
        request.csrf = oracle.CSRF_VALID
        self.assertEqual(400, self.check(request).status_code)  # was django-404-unreadable-body


class KnownDefectListTests(cloud.FuzzCase):
    def test_every_known_defect_has_a_reproduction(self):
        reproduced = {mark.kwargs["reason"].split(":")[0]
                      for name in dir(KnownDefectTests) if name.startswith("test_")
                      for mark in getattr(getattr(KnownDefectTests, name), "pytestmark", ())
                      if mark.name == "xfail"}
        self.assertEqual(sorted(d.id for d in oracle.KNOWN_DEFECTS), sorted(reproduced))

    def test_the_right_signed_list_is_accepted(self):
        """The reproductions' baseline: the fixture's evacuate modal accepts its own list."""
        with self.example():
            token = reviewed.sign("cmp1", [s for s in self.nova.servers
                                           if s["name"] == "web-1"])
            answer = self.send(admin("evac_hosts:evacuate_host", "POST",
                                     endpoints.HOSTS + "cmp1/evacuate/", data=[
                                         ("host", "cmp1"), ("reviewed", token),
                                         ("acknowledge_local_disks", "on")]), excuse=False)
            self.assertEqual(302, answer.status_code, [
                e for e in answer.context["form"].errors.values()] if answer.context else "")
            self.assertIn("/admin/evac_batches/", answer["Location"])
