"""The wizard's admin password stays out of Horizon's operation log, Django's error reports,
caches and the wizard shown again after a failed submit (issue 13)."""
import json
from unittest import mock

from evac_dashboard import models
from evac_dashboard.content.wizard import workflows
from evac_dashboard.operations import submission
from evac_dashboard.store import batches
from tests.unit.content.evacuate import password_probe as probe
from tests.unit.content.wizard.test_wizard import WIZARD_URL
from tests.unit.content.wizard.test_wizard import WizardCase

AGAIN = "Enter the admin password again"
OPTIONS_STEP = 3  # Host, Instances, Targets, Options, Confirm


class PasswordCase(WizardCase):
    def setUp(self):
        super().setUp()
        self.page = self.client.get(WIZARD_URL).content.decode()

    def submit(self, html=None, password=probe.SECRET, **overrides):
        """The final POST of the wizard page ``html`` with ``password`` typed into both of
        its password fields and the hidden fields ``html`` carries."""
        html = html or self.page
        data = probe.hidden_values(html)
        data.update(probe.typed(html, password))
        data.update(overrides)
        return self.final_post(**data)

    def validate_options(self, html=None, password=probe.SECRET, **overrides):
        """The AJAX POST Horizon sends when the operator presses Next on the Options step."""
        html = html or self.page
        data = self.final_data(**probe.hidden_values(html))
        data.update(probe.typed(html, password))
        data.update(overrides)
        return self.client.post(WIZARD_URL, data,
                                HTTP_X_HORIZON_VALIDATE_STEP_START=str(OPTIONS_STEP),
                                HTTP_X_HORIZON_VALIDATE_STEP_END=str(OPTIONS_STEP))


@probe.operation_log_on
class OperationLogTests(PasswordCase):
    def _assert_masked(self, logged):
        lines = [record.getMessage() for record in logged.records]
        posts = [line for line in lines if "[POST]" in line]
        self.assertTrue(posts, lines)
        for line in lines:
            self.assertIsNone(probe.leak(line))
        for name in probe.password_names(self.page):
            self.assertIn('"%s": "********"' % name, posts[-1])

    @mock.patch.object(submission, "start")
    def test_the_logged_final_post_masks_the_password(self, start):
        with self.assertLogs("horizon.operation_log", "INFO") as logged:
            res = self.submit()
        self.assertEqual(302, res.status_code)
        self.assertEqual(probe.SECRET, start.call_args.kwargs["password"])
        self._assert_masked(logged)

    def test_the_logged_step_validation_masks_the_password(self):
        with self.assertLogs("horizon.operation_log", "INFO") as logged:
            res = self.validate_options()
        self.assertFalse(json.loads(res.content)["has_errors"], res.content)
        self._assert_masked(logged)


class ErrorReportTests(PasswordCase):
    def _assert_reports_hide_the_password(self, reports, expected):
        self.assertEqual(3, len(reports))
        for report in reports:
            self.assertTrue(expected in report)
            self.assertIsNone(probe.leak(report))

    @mock.patch.object(submission, "start")
    @mock.patch.object(batches, "create_batch", side_effect=RuntimeError("database is gone"))
    def test_a_failure_while_starting(self, create, start):
        with probe.error_reports() as reports, self.assertRaises(RuntimeError):
            self.submit()
        create.assert_called_once()
        self._assert_reports_hide_the_password(reports, "database is gone")

    @mock.patch.object(workflows.ConfirmAction, "clean", side_effect=RuntimeError("step broke"))
    def test_a_failure_while_validating_a_step_after_the_options(self, clean):
        with probe.error_reports() as reports, self.assertRaises(RuntimeError):
            self.submit()
        clean.assert_called_once()
        self._assert_reports_hide_the_password(reports, "step broke")


class BrowserTests(PasswordCase):
    def test_password_inputs_ask_for_a_new_password_and_carry_no_value(self):
        fields = probe.password_inputs(self.page)
        self.assertEqual(2, len(fields))
        for field in fields:
            self.assertEqual("new-password", field.get("autocomplete"), field)
            self.assertNotIn("value", field)

    @mock.patch.object(submission, "start")
    def test_no_response_is_stored_by_a_cache(self, start):
        responses = {
            "GET": self.client.get(WIZARD_URL),
            "step validation": self.validate_options(),
            "POST shown again": self.submit(confirm=""),
            "POST redirect": self.submit(),
        }
        self.assertEqual(302, responses["POST redirect"].status_code)
        for what, res in responses.items():
            self.assertIn("no-store", res.get("Cache-Control", ""), what)


class ShownAgainTests(PasswordCase):
    """Horizon shows the whole wizard again (every step) after a failed submit; the password
    is not in it, the operator is told to type it again, and a submit or a Next without it
    is refused until they do or ask Nova to generate one."""

    def _shown_again(self):
        res = self.submit(confirm="")  # the Confirm step fails
        self.assertEqual(200, res.status_code)
        self.assertFalse(models.EvacuationBatch.objects.exists())
        html = res.content.decode()
        self.assertIsNone(probe.leak(html))
        self.assertTrue(AGAIN in html, "no 'Enter the admin password again'")
        return html

    def _generate_name(self, html):
        names = [i["name"] for i in probe.inputs(html)
                 if i.get("type") == "checkbox" and "generate" in i.get("name", "")]
        self.assertEqual(1, len(names), names)
        return names[0]

    @mock.patch.object(submission, "start")
    def test_a_submit_without_the_lost_password_is_refused(self, start):
        html = self._shown_again()
        res = self.submit(html, password="")
        self.assertEqual(200, res.status_code)
        self.assertTrue(AGAIN in res.content.decode(), "not told to type it again")
        self.assertFalse(models.EvacuationBatch.objects.exists())
        start.assert_not_called()

    def test_next_on_the_options_step_without_it_is_refused(self):
        html = self._shown_again()
        answer = json.loads(self.validate_options(html, password="").content)
        self.assertTrue(answer["has_errors"], answer)
        self.assertIn(AGAIN, json.dumps(answer))
        answer = json.loads(self.validate_options(html).content)
        self.assertFalse(answer["has_errors"], answer)

    @mock.patch.object(submission, "start")
    def test_the_password_typed_again_is_sent(self, start):
        html = self._shown_again()
        res = self.submit(html)
        self.assertEqual(302, res.status_code)
        self.assertEqual(probe.SECRET, start.call_args.kwargs["password"])

    @mock.patch.object(submission, "start")
    def test_the_operator_may_let_nova_generate_one_instead(self, start):
        html = self._shown_again()
        res = self.submit(html, password="", **{self._generate_name(html): "on"})
        self.assertEqual(302, res.status_code)
        self.assertIsNone(start.call_args.kwargs["password"])
        self.assertFalse(models.EvacuationBatch.objects.get().options["password_set"])

    @mock.patch.object(submission, "start")
    def test_shown_again_twice_still_asks(self, start):
        html = self._shown_again()
        res = self.submit(html, password="", confirm="")
        html = res.content.decode()
        self.assertTrue(AGAIN in html, "no 'Enter the admin password again'")
        res = self.submit(html, password="")
        self.assertTrue(AGAIN in res.content.decode(), "not told to type it again")
        start.assert_not_called()

    def test_a_first_submit_without_password_needs_nothing_more(self):
        res = self.submit(password="", confirm="")
        self.assertNotContains(res, AGAIN)
        self.assertFalse(any("generate" in i.get("name", "")
                             for i in probe.inputs(res.content.decode())))
