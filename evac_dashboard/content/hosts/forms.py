"""Fencing and service forms: Force Down, Unset Force Down, Disable / Enable service."""
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from horizon import forms
from horizon import messages

from evac_dashboard.operations import recording
from evac_dashboard.store import audit
from evac_dashboard.api import actions
from evac_dashboard.api import nova
from evac_dashboard.content import nova_errors


class HostServiceForm(forms.SelfHandlingForm):
    """Base: the host is fixed by the URL; subclasses act on its nova-compute service."""

    host = forms.CharField(label=_("Host"), widget=forms.TextInput(attrs={"readonly": True}))

    def __init__(self, request, *args, **kwargs):
        self.service = kwargs.pop("service")
        super().__init__(request, *args, **kwargs)

    def call_nova(self, request):
        raise NotImplementedError

    def success_message(self):
        raise NotImplementedError

    def audited(self, request, action, **options):
        """Audit record of one service call: written before, completed after."""
        return recording.recorded(request, action, source_host=self.service["host"],
                              options=options)

    def handle(self, request, data):
        try:
            self.call_nova(request)
        except Exception as error:  # every Nova refusal becomes advice in the form
            self.api_error(nova_errors.explain(error))
            return False
        messages.success(request, self.success_message())
        return True


class ForceDownForm(HostServiceForm):
    confirm_host = forms.CharField(
        label=_("Type the host name to confirm it is powered off or fenced"), max_length=255)
    disable = forms.BooleanField(
        label=_("Also disable the service, so the scheduler sends nothing to it"),
        initial=True, required=False)
    reason = forms.CharField(label=_("Reason"), max_length=255, required=False,
                             initial=_("fenced: evacuating"))

    def clean(self):
        data = super().clean()
        if data.get("confirm_host") != self.service["host"]:
            raise forms.ValidationError(
                _("The typed name does not match %s. Forcing down a host that still runs "
                  "its instances and then evacuating them corrupts their disks.")
                % self.service["host"])
        return data

    def call_nova(self, request):
        with self.audited(request, audit.FORCE_DOWN) as record:
            actions.force_down(request, self.service, True, record.request_ids_seen)
        if self.cleaned_data.get("disable") and self.service.get("status") == "enabled":
            reason = self.cleaned_data.get("reason") or None
            with self.audited(request, audit.DISABLE, reason=reason) as record:
                actions.set_service_status(request, self.service, False, reason,
                                           record.request_ids_seen)

    def success_message(self):
        return _("%s is forced down: Nova now treats it as fenced, and its instances can be "
                 "evacuated.") % self.service["host"]


class UnsetForceDownForm(HostServiceForm):
    def call_nova(self, request):
        with self.audited(request, audit.UNSET_FORCE_DOWN) as record:
            actions.force_down(request, self.service, False, record.request_ids_seen)

    def success_message(self):
        return _("%s is no longer forced down. Enable its service when it should take new "
                 "instances again.") % self.service["host"]


class DisableServiceForm(HostServiceForm):
    reason = forms.CharField(label=_("Reason"), max_length=255, required=False)

    def call_nova(self, request):
        reason = self.cleaned_data.get("reason") or None
        with self.audited(request, audit.DISABLE, reason=reason) as record:
            actions.set_service_status(request, self.service, False, reason,
                                       record.request_ids_seen)

    def success_message(self):
        return _("The compute service of %s is disabled.") % self.service["host"]


class EnableServiceForm(HostServiceForm):
    def call_nova(self, request):
        with self.audited(request, audit.ENABLE) as record:
            actions.set_service_status(request, self.service, True,
                                       request_ids=record.request_ids_seen)

    def success_message(self):
        return _("The compute service of %s is enabled.") % self.service["host"]


def index_url():
    return reverse("horizon:admin:evac_hosts:index")


def force_down_supported(request):
    return nova.supports(request, "service_force_down")
