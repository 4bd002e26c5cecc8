"""Paths under a panel that no pattern takes (content/unrouted.py): the plugin's own 404,
so a POST body Django refuses is Django's 400, never a 500 from the site's 404 handler
(which reads the body again)."""
from django.test import Client
from django.urls import reverse

from openstack_dashboard.test import helpers as test

HISTORY_URL = reverse("horizon:admin:evac_history:index")
TOKEN = "a" * 32
TOO_MANY = "&".join("f%d=1" % i for i in range(1100))


class UnroutedHistoryPathTests(test.BaseAdminViewTests):
    def test_post_with_a_body_django_refuses_is_not_read_by_the_404(self):
        for path in (HISTORY_URL + "x/", HISTORY_URL + "/", HISTORY_URL + "1/2/",
                     HISTORY_URL + "a%0Ab/"):
            with self.subTest(path=path):
                res = self.client.generic("POST", path, b"item=1",
                                          content_type="multipart/form-data")
                self.assertEqual(404, res.status_code)
                res = self.client.generic("POST", path, TOO_MANY.encode(),
                                          content_type="application/x-www-form-urlencoded")
                self.assertEqual(404, res.status_code)

    def test_with_csrf_checks_such_a_body_is_djangos_400(self):
        client = Client(enforce_csrf_checks=True)
        client.cookies["csrftoken"] = TOKEN
        res = client.generic("POST", HISTORY_URL + "x/", b"item=1",
                             content_type="multipart/form-data", HTTP_X_CSRFTOKEN=TOKEN)
        self.assertEqual(400, res.status_code)
        res = client.generic("POST", HISTORY_URL + "x/", TOO_MANY.encode(),
                             content_type="application/x-www-form-urlencoded",
                             HTTP_X_CSRFTOKEN=TOKEN)
        self.assertEqual(400, res.status_code)

    def test_get_of_an_unknown_path_is_404(self):
        res = self.client.get(HISTORY_URL + "no-such-record/")
        self.assertEqual(404, res.status_code)
        self.assertIn("There is no such page.", res.content.decode())

    def test_a_missing_slash_is_still_added(self):
        res = self.client.get(HISTORY_URL + "12?x=1")
        self.assertEqual(301, res.status_code)
        self.assertEqual(HISTORY_URL + "12/?x=1", res["Location"])
        self.assertEqual(404, self.client.get(HISTORY_URL + "nope").status_code)

