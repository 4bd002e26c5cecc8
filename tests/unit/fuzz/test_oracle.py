"""The oracle itself: each rule fails the answers it is meant to fail (so a green fuzz run
means something), and passes ordinary ones."""
import json
from unittest import mock

from django.http import HttpResponse, HttpResponseRedirect, JsonResponse
from django.test import SimpleTestCase

from tests.unit.fuzz import oracle

PASSWORD = "PwFz0123456789ab<&>"


def request(identity="admin", method="GET", endpoint="evac_hosts:index", **fields):
    return oracle.Request(endpoint, identity, method, "/admin/evac_hosts/", **fields)


class OracleTests(SimpleTestCase):
    def problems(self, response, req=None, secrets=(), logged=()):
        return oracle.problems_of(req or request(), response, set(secrets), logged)[2]

    def assertFails(self, response, wanted, **kwargs):
        found = self.problems(response, **kwargs)
        self.assertTrue(any(wanted in p for p in found), found)

    def test_an_ordinary_page_passes(self):
        self.assertEqual([], self.problems(HttpResponse("<p>&lt;script&gt;</p>")))

    def test_server_errors_and_raised_views_fail(self):
        self.assertFails(HttpResponse("x", status=502), "status 502")
        found = self.problems(oracle.Raised(ValueError("boom")))
        self.assertIn("the view raised", found[0])

    def test_a_traceback_in_the_body_fails(self):
        self.assertFails(HttpResponse("Traceback (most recent call last):\n  File"),
                         "traceback")

    def test_a_password_echo_fails_raw_escaped_or_in_json(self):
        for body in (PASSWORD, "value=\"PwFz0123456789ab&lt;&amp;&gt;\"",
                     json.dumps({"a": PASSWORD})):
            self.assertFails(HttpResponse(body), "echoed",
                             req=request(method="POST", passwords=(PASSWORD,)))
        self.assertFails(HttpResponseRedirect("/x/?p=PwFz0123456789ab%3C%26%3E"), "echoed",
                         req=request(method="POST", passwords=(PASSWORD,)))

    def test_member_and_anonymous_are_refused(self):
        self.assertFails(HttpResponse("data"), "member got 200", req=request("member"))
        self.assertFails(HttpResponse("data"), "anonymous got 200",
                         req=request("anonymous"))
        self.assertFails(HttpResponseRedirect("/admin/"), "not the login page",
                         req=request("anonymous"))
        self.assertEqual([], self.problems(HttpResponseRedirect(
            "http://testserver/auth/login/?next=/admin/"), req=request("anonymous")))
        self.assertEqual([], self.problems(HttpResponse(status=403), req=request("member")))

    def test_a_post_with_a_bad_csrf_token_must_be_refused(self):
        for csrf in (oracle.CSRF_WRONG, oracle.CSRF_MISSING):
            self.assertFails(HttpResponseRedirect("/admin/"), "CSRF",
                             req=request(method="POST", csrf=csrf))
        self.assertEqual([], self.problems(HttpResponse(status=403), req=request(
            method="POST", csrf=oracle.CSRF_WRONG)))

    def test_redirects_stay_on_the_site(self):
        self.assertFails(HttpResponseRedirect("http://evil.example/"), "off the site")
        self.assertFails(HttpResponseRedirect("//evil.example/x"), "off the site")

    def test_injected_markup_shown_unescaped_fails_in_pages_and_page_fragments(self):
        self.assertFails(HttpResponse("<td><script>alert(1)</script></td>"), "unescaped")
        self.assertFails(JsonResponse({"rows": [[1, "<td><h1>owned</h1></td>"]]}),
                         "unescaped")
        # A JSON message is text for the script, not markup.
        self.assertEqual([], self.problems(JsonResponse({"error": "<script>x</script>"})))

    def test_json_that_is_not_json_fails(self):
        self.assertFails(HttpResponse("{", content_type="application/json"), "not JSON")

    @mock.patch.object(oracle, "KNOWN_DEFECTS", [oracle.Defect(
        "test-only-502", "a defect of this test only", ("evac_hosts:wizard_capacity",), 502)])
    def test_a_known_defect_is_excused_only_where_it_is_known(self):
        broken = HttpResponse("x", status=502)
        capacity = request(endpoint="evac_hosts:wizard_capacity")
        before = oracle.KNOWN_SEEN["test-only-502"]
        oracle.check(capacity, broken)
        self.assertEqual(before + 1, oracle.KNOWN_SEEN["test-only-502"])
        with self.assertRaises(oracle.FuzzFailure):
            oracle.check(capacity, broken, excuse=False)
        with self.assertRaises(oracle.FuzzFailure):
            oracle.check(request(endpoint="evac_hosts:index"), broken)
