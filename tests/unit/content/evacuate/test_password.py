"""The modals' admin password stays out of Horizon's operation log, Django's error reports,
caches and the page shown again after a failed submit (issue 13)."""
from unittest import mock

from django.urls import reverse

from openstack_dashboard.test import helpers as test

from evac_dashboard import models
from evac_dashboard.operations import evacuations
from evac_dashboard.operations import submission
from evac_dashboard.store import batches
from tests.unit.content.evacuate import password_probe as probe
from tests.unit.content.evacuate import test_views as modal

AGAIN = "Enter the admin password again"


class ModalCase(modal.NovaMocks, test.BaseAdminViewTests):
    _cloud = modal.EvacuateHostTests._cloud

    def setUp(self):
        super().setUp()
        self._cloud()
        self.page = self.client.get(modal.HOST_URL).content.decode()

    def form(self, html=None, password=probe.SECRET, **overrides):
        """The modal's data with ``password`` typed into both password fields of ``html``
        and the hidden fields ``html`` carries (the page the operator submits)."""
        html = html or self.page
        data = {k: v for k, v in modal.EvacuateHostTests._form(self).items() if "pass" not in k}
        data.update(probe.hidden_values(html))
        data.update(probe.typed(html, password))
        data.update(overrides)
        return data


@probe.operation_log_on
class OperationLogTests(ModalCase):
    @mock.patch.object(submission, "start")
    def test_the_logged_post_masks_the_password(self, start):
        with self.assertLogs("horizon.operation_log", "INFO") as logged:
            res = self.client.post(modal.HOST_URL, self.form())
        self.assertEqual(302, res.status_code)
        start.assert_called_once()
        self.assertEqual(probe.SECRET, start.call_args.kwargs["password"])
        lines = [record.getMessage() for record in logged.records]
        self.assertTrue(any("[POST]" in line for line in lines), lines)
        for line in lines:
            self.assertIsNone(probe.leak(line))
        posted = [line for line in lines if "[POST]" in line][-1]
        for name in probe.password_names(self.page):
            self.assertIn('"%s": "********"' % name, posted)


class ErrorReportTests(ModalCase):
    def _assert_reports_hide_the_password(self, reports, expected):
        self.assertEqual(3, len(reports))
        for report in reports:
            self.assertTrue(expected in report)  # the report of this failure
            self.assertIsNone(probe.leak(report))

    @mock.patch.object(submission, "start")
    @mock.patch.object(batches, "create_batch", side_effect=RuntimeError("database is gone"))
    def test_a_failure_while_starting(self, create, start):
        with probe.error_reports() as reports, self.assertRaises(RuntimeError):
            self.client.post(modal.HOST_URL, self.form())
        create.assert_called_once()
        self._assert_reports_hide_the_password(reports, "database is gone")

    @mock.patch.object(evacuations, "start_problems", side_effect=RuntimeError("check broke"))
    def test_a_failure_while_validating(self, problems):
        with probe.error_reports() as reports, self.assertRaises(RuntimeError):
            self.client.post(modal.HOST_URL, self.form())
        problems.assert_called_once()
        self._assert_reports_hide_the_password(reports, "check broke")


class BrowserTests(ModalCase):
    def test_password_inputs_ask_for_a_new_password_and_carry_no_value(self):
        for url in (modal.HOST_URL, modal.instance_url(modal.dead_host_servers()[1]["id"])):
            if url != modal.HOST_URL:
                self.mock_servers_on_host.return_value = modal.dead_host_servers()
            fields = probe.password_inputs(self.client.get(url).content.decode())
            self.assertEqual(2, len(fields), url)
            for field in fields:
                self.assertEqual("new-password", field.get("autocomplete"), (url, field))
                self.assertNotIn("value", field)

    @mock.patch.object(submission, "start")
    def test_no_response_is_stored_by_a_cache(self, start):
        server_id = modal.dead_host_servers()[1]["id"]
        responses = {
            "host GET": self.client.get(modal.HOST_URL),
            "instance GET": self.client.get(modal.instance_url(server_id)),
            "POST shown again": self.client.post(
                modal.HOST_URL, self.form(acknowledge_local_disks="")),
            "POST redirect": self.client.post(modal.HOST_URL, self.form()),
        }
        self.assertEqual(302, responses["POST redirect"].status_code)
        for what, res in responses.items():
            self.assertIn("no-store", res.get("Cache-Control", ""), what)


class ShownAgainTests(ModalCase):
    """A modal shown again after a failed submit has lost the password the operator typed:
    it says so, and a submit without it is refused until the operator types it again or
    asks Nova to generate one."""

    def _shown_again(self):
        res = self.client.post(modal.HOST_URL, self.form(acknowledge_local_disks=""))
        self.assertTrue("rebuilt from their image" in res.content.decode())  # the failure
        html = res.content.decode()
        self.assertIsNone(probe.leak(html))
        self.assertTrue(AGAIN in html, "no 'Enter the admin password again'")
        return html

    @mock.patch.object(submission, "start")
    def test_a_submit_without_the_lost_password_is_refused(self, start):
        html = self._shown_again()
        res = self.client.post(modal.HOST_URL, self.form(html, password=""))
        self.assertTrue(AGAIN in res.content.decode(), "not told to type it again")
        self.assertFalse(models.EvacuationBatch.objects.exists())
        start.assert_not_called()

    @mock.patch.object(submission, "start")
    def test_the_password_typed_again_is_sent(self, start):
        html = self._shown_again()
        res = self.client.post(modal.HOST_URL, self.form(html))
        self.assertNoFormErrors(res)
        self.assertEqual(probe.SECRET, start.call_args.kwargs["password"])

    @mock.patch.object(submission, "start")
    def test_the_operator_may_let_nova_generate_one_instead(self, start):
        html = self._shown_again()
        generate = [i["name"] for i in probe.inputs(html) if i.get("type") == "checkbox"
                    and "generate" in i.get("name", "")]
        self.assertEqual(1, len(generate), generate)
        res = self.client.post(modal.HOST_URL, self.form(html, password="",
                                                         **{generate[0]: "on"}))
        self.assertNoFormErrors(res)
        self.assertIsNone(start.call_args.kwargs["password"])
        self.assertFalse(models.EvacuationBatch.objects.get().options["password_set"])

    def test_a_first_submit_without_password_needs_nothing_more(self):
        res = self.client.post(modal.HOST_URL, self.form(password="",
                                                         acknowledge_local_disks=""))
        self.assertNotContains(res, AGAIN)
        self.assertFalse(any("generate" in i.get("name", "")
                             for i in probe.inputs(res.content.decode())))

