"""Fencing and service forms: Force Down, Unset Force Down, Disable / Enable service."""
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from horizon import forms
from horizon import messages

from evac_dashboard.content import nova_errors
from evac_dashboard.operations import host_actions


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

    def handle(self, request, data):
        try:
            self.call_nova(request)
        except host_actions.Refusal as refusal:  # Nova's refusal, or ours, as advice
            self.api_error(nova_errors.explain(refusal))
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
        host_actions.force_down(request, self.service,
                                disable=bool(self.cleaned_data.get("disable")),
                                reason=self.cleaned_data.get("reason") or None)

    def success_message(self):
        return _("%s is forced down: Nova now treats it as fenced, and its instances can be "
                 "evacuated.") % self.service["host"]


class UnsetForceDownForm(HostServiceForm):
    def call_nova(self, request):
        host_actions.unset_force_down(request, self.service)

    def success_message(self):
        return _("%s is no longer forced down. Enable its service when it should take new "
                 "instances again.") % self.service["host"]


class DisableServiceForm(HostServiceForm):
    reason = forms.CharField(label=_("Reason"), max_length=255, required=False)

    def call_nova(self, request):
        host_actions.set_enabled(request, self.service, False,
                                 self.cleaned_data.get("reason") or None)

    def success_message(self):
        return _("The compute service of %s is disabled.") % self.service["host"]


class EnableServiceForm(HostServiceForm):
    def call_nova(self, request):
        host_actions.set_enabled(request, self.service, True)

    def success_message(self):
        return _("The compute service of %s is enabled.") % self.service["host"]


def index_url():
    return reverse("horizon:admin:evac_hosts:index")


def force_down_supported(request):
    return host_actions.force_down_supported(request)
