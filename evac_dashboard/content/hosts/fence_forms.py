"""Fence, Fence and evacuate, Power On: the forms of a host that has a BMC entry.

Each runs its steps in the request (a fence waits at most ``EVAC_BMC_FENCE_TIMEOUT`` for Off)
and then shows every step with its outcome: as messages on the next page when it went
through, as the form's error (the modal stays open) when it stopped. The typed host name is
the operator's explicit override when the BMC cannot confirm Off.
"""
from django.utils.html import format_html
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy as _

from horizon import forms
from horizon import messages

from evac_dashboard.content.evacuate import reviewed
from evac_dashboard.content.evacuate.forms import RUNNING, STOPPED, local_disks_field
from evac_dashboard.operations import evacuations
from evac_dashboard.operations import fencing
from evac_dashboard.rules import power
from evac_dashboard.rules import request as evac_request


OUTCOME_WORDS = {power.SUCCEEDED: _("done"), power.FAILED: _("FAILED"),
                 power.SKIPPED: _("not needed")}


def steps_html(report):
    return format_html('<ol class="evac-fence-steps">{}</ol>', format_html_join(
        "", '<li class="evac-step-{}"><strong>{}</strong>: {} ({} s){}</li>',
        ((step.outcome, step.title, OUTCOME_WORDS.get(step.outcome, step.outcome),
          "%.1f" % step.seconds, " — %s" % step.detail if step.detail else "")
         for step in report.steps)))


def announce(request, report):
    """One message holding every step (not one toast per step covering the table), at the
    level of the worst step; the host's page keeps the steps from the audit log."""
    outcomes = {step.outcome for step in report.steps}
    level = (messages.error if power.FAILED in outcomes else messages.success)
    level(request, format_html("{}{}", _("Fencing %s") % report.host, steps_html(report)))


class FenceForm(forms.SelfHandlingForm):
    host = forms.CharField(label=_("Host"), widget=forms.TextInput(attrs={"readonly": True}))
    disable = forms.BooleanField(
        label=_("Also disable the service, so the scheduler sends nothing to it"),
        initial=True, required=False)
    reason = forms.CharField(label=_("Reason"), max_length=255, required=False,
                             initial=_("fenced: evacuating"))
    override_host = forms.CharField(
        label=_("Only if the BMC cannot confirm Off: type the host name to confirm it is "
                "powered off or isolated anyway"), max_length=255, required=False,
        help_text=_("Leave empty: the service is forced down only once the BMC reports Off."))

    def __init__(self, request, *args, **kwargs):
        self.service = kwargs.pop("service")
        super().__init__(request, *args, **kwargs)

    def clean(self):
        data = super().clean()
        typed = (data.get("override_host") or "").strip()
        if typed and typed != self.service["host"]:
            raise forms.ValidationError(
                _("The typed name does not match %s. Leave it empty to rely on the BMC.")
                % self.service["host"])
        data["override"] = bool(typed)
        return data

    def run(self, request, data):
        return fencing.fence(request, self.service, disable=bool(data.get("disable")),
                             reason=data.get("reason") or None, override=data["override"])

    def handle(self, request, data):
        self.report = self.run(request, data)
        if self.report.stopped_because:
            self.api_error(format_html("{}{}", self.report.stopped_because,
                                       steps_html(self.report)))
            return False
        announce(request, self.report)
        return True


class FenceAndEvacuateForm(FenceForm):
    power_state = forms.ChoiceField(
        label=_("After evacuation, servers"), required=False,
        choices=((RUNNING, _("come back in their previous power state")),
                 (STOPPED, _("stay stopped until someone starts them"))), initial=RUNNING)
    acknowledge_local_disks = local_disks_field()
    reviewed = forms.CharField(widget=forms.HiddenInput())

    def __init__(self, request, *args, **kwargs):
        self.negotiated = kwargs.pop("negotiated")
        self.local_disk_count = kwargs.pop("local_disk_count")
        super().__init__(request, *args, **kwargs)
        if not evac_request.options_available(self.negotiated).power_state_choice:
            del self.fields["power_state"]
        if not self.local_disk_count:
            del self.fields["acknowledge_local_disks"]

    def clean(self):
        data = super().clean()
        try:
            self.servers = reviewed.unsign(self.service["host"], data.get("reviewed", ""))
        except ValueError as error:
            raise forms.ValidationError(str(error))
        if not self.servers:
            raise forms.ValidationError(_("There is no instance to evacuate: use Fence."))
        if self.local_disk_count and not data.get("acknowledge_local_disks"):
            raise forms.ValidationError(_("Confirm that you understand instances with a local "
                                          "root disk are rebuilt from their image."))
        return data

    def handle(self, request, data):
        evacuation = evacuations.Evacuation(
            kind="host", service=self.service, services=[], servers=self.servers,
            options=evac_request.EvacuateOptions(
                keep_running=data.get("power_state", RUNNING) != STOPPED),
            negotiated=self.negotiated,
            local_disks_acknowledged=bool(data.get("acknowledge_local_disks")))
        try:
            self.report, self.batch = fencing.fence_and_evacuate(
                request, evacuation, disable=bool(data.get("disable")),
                reason=data.get("reason") or None, override=data["override"])
        except evacuations.ActionRefused as refused:  # pragma: no cover - reported in steps
            self.api_error(str(refused))
            return False
        if self.batch is None:
            if self.report.forced_down:  # fenced: say so on the page, not only in the modal
                announce(request, self.report)
            self.api_error(format_html("{}{}", self.report.stopped_because,
                                       steps_html(self.report)))
            return False
        announce(request, self.report)
        return self.batch


class PowerOnForm(forms.SelfHandlingForm):
    host = forms.CharField(label=_("Host"), widget=forms.TextInput(attrs={"readonly": True}))

    def __init__(self, request, *args, **kwargs):
        self.service = kwargs.pop("service")
        super().__init__(request, *args, **kwargs)

    def handle(self, request, data):
        try:
            self.report = fencing.power_on(request, self.service["host"])
        except fencing.NotFenceable as why:
            self.api_error(str(why))
            return False
        if self.report.stopped_because:
            self.api_error(format_html("{}{}", self.report.stopped_because,
                                       steps_html(self.report)))
            return False
        announce(request, self.report)
        if self.service.get("forced_down"):
            messages.info(request, _("%s stays forced down until you unset it: once its "
                                     "nova-compute has started again and cleaned up, use "
                                     "Unset Force Down.") % self.service["host"])
        return True
