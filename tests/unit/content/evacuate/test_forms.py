"""The evacuate modals start through the one start use case: an option the negotiated
microversion lacks is refused with a message, never dropped."""
from unittest import mock

from openstack_dashboard.test import helpers as test

from evac_dashboard import models
from evac_dashboard.operations import submission
from tests.unit.content.evacuate import test_views as modal


class OptionsTheMicroversionLacks(modal.NovaMocks, test.BaseAdminViewTests):
    _cloud = modal.EvacuateHostTests._cloud
    _form = modal.EvacuateHostTests._form

    @mock.patch.object(submission, "start")
    def test_force_at_2_96_is_refused(self, start):
        self._cloud(version=(2, 96))
        res = self.client.post(modal.HOST_URL, self._form(target_host="cmp2", force="on"))
        self.assertContains(res, "Forcing the target host is not possible")
        self.assertFalse(models.EvacuationBatch.objects.exists())
        start.assert_not_called()

    @mock.patch.object(submission, "start")
    def test_shared_storage_at_2_96_is_refused(self, start):
        self._cloud(version=(2, 96))
        res = self.client.post(modal.HOST_URL, self._form(on_shared_storage="on"))
        self.assertContains(res, "Declaring shared instance storage is not possible")
        self.assertFalse(models.EvacuationBatch.objects.exists())

    @mock.patch.object(submission, "start")
    def test_stopped_below_2_95_is_refused(self, start):
        self._cloud(version=(2, 94))
        res = self.client.post(modal.HOST_URL, self._form(power_state="stopped"))
        self.assertContains(res, "not possible with this cloud")
        self.assertFalse(models.EvacuationBatch.objects.exists())

    @mock.patch.object(submission, "start")
    def test_force_inside_its_range_is_sent(self, start):
        self._cloud(version=(2, 60))
        self.client.post(modal.HOST_URL, self._form(target_host="cmp2", force="on"))
        self.assertTrue(models.EvacuationBatch.objects.get().options["force"])


