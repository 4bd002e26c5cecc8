"""History criteria longer than any host or user name: refused with a message on the page and
a 400 from the export, never sent to the database (SQLite: "LIKE or GLOB pattern too
complex", a 500)."""
from django.contrib.messages import get_messages
from django.test.utils import override_settings

from openstack_dashboard.test import helpers as test

from evac_dashboard.content.history import views
from evac_dashboard.models import AuditRecord
from tests.unit.content.history.test_views import EXPORT_URL, HISTORY_MOCKS, INDEX_URL
from tests.unit.content.history.test_views import panel_record
from evac_dashboard.operations import external_sync

HUGE = "x" * 60000


@override_settings(EVAC_AUDIT_SYNC_SECONDS=0)
class OverlongCriteriaTests(test.BaseAdminViewTests):
    def setUp(self):
        super().setUp()
        external_sync.forget_sync_times()

    def _nova(self):
        self.mock_evacuation_migrations.return_value = ([], "2.96")
        self.mock_project_names.return_value = {}

    def _errors(self, res):
        return [str(m) for m in get_messages(res.wsgi_request) if m.level_tag == "error"]

    @test.create_mocks(HISTORY_MOCKS)
    def test_huge_host_in_the_query_is_refused_with_a_message(self):
        self._nova()
        panel_record(host="cmp1")
        panel_record(host="cmp2")
        res = self.client.get(INDEX_URL, {"host": HUGE})
        self.assertEqual(200, res.status_code)
        self.assertEqual(2, len(res.context["table"].data))  # not limited by it
        errors = self._errors(res)
        self.assertEqual(1, len(errors), errors)
        self.assertIn("The host criterion is 60000 characters long; at most 255", errors[0])
        self.assertEqual([], res.context["criteria"])
        self.assertNotIn("x" * 300, res.context["export_url"])

    @test.create_mocks(HISTORY_MOCKS)
    def test_huge_user_in_the_filter_box_is_refused_with_a_message(self):
        self._nova()
        panel_record(host="cmp1")
        res = self.client.post(INDEX_URL, {"history__filter__q_field": "user",
                                           "history__filter__q": HUGE})
        self.assertEqual(302, res.status_code)
        res = self.client.get(INDEX_URL)
        self.assertEqual(200, res.status_code)
        self.assertEqual(1, len(res.context["table"].data))
        self.assertIn("The user criterion", " ".join(self._errors(res)))

    @test.create_mocks(HISTORY_MOCKS)
    def test_a_criterion_of_the_longest_name_still_applies(self):
        self._nova()
        longest = "h" * views.LONGEST_CRITERION
        panel_record(host=longest)
        panel_record(host="cmp2")
        res = self.client.get(INDEX_URL, {"host": longest})
        self.assertEqual([longest], [r.source_host for r in res.context["table"].data])
        self.assertEqual([], self._errors(res))

    def test_export_answers_400_with_the_reason(self):
        panel_record(host="cmp1")
        for name in ("host", "user", "action", "outcome", "origin"):
            with self.subTest(name=name):
                res = self.client.get(EXPORT_URL, {name: HUGE})
                self.assertEqual(400, res.status_code)
                self.assertIn("The %s criterion is 60000 characters long" % name,
                              res.content.decode())
        self.assertEqual(1, AuditRecord.objects.count())
