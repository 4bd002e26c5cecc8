"""Evacuate one instance, or every instance of a host: options shown only where they exist.

The options a cloud offers depend on the negotiated microversion
(``rules.request.options_available``): the shared-storage flag below 2.14, force from
2.29 to 2.67, and the power-state choice from 2.95. Submitting stores a batch and starts the
submission in the background, then sends the browser to the batch's page at once.
"""
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from horizon import forms

from evac_dashboard.content.evacuate import password as secret
from evac_dashboard.content.evacuate import reviewed
from evac_dashboard.operations import evacuations
from evac_dashboard.rules import checks
from evac_dashboard.rules import request as evac_request

SCHEDULER = ""
RUNNING = "running"
STOPPED = "stopped"


def local_disks_field():
    """The acknowledgement every form that starts an evacuation asks for when some
    instance has a local root disk (the modals, Fence and evacuate)."""
    return forms.BooleanField(
        label=_("I understand that instances with a local root disk are rebuilt from their "
                "image unless their storage is shared: their data may be lost"),
        required=False)


def batch_url(batch_id):
    return reverse("horizon:admin:evac_batches:detail", args=[batch_id])


class EvacuateForm(secret.PasswordFormMixin, forms.SelfHandlingForm):
    """Fields and submission shared by the instance and host forms."""

    kind = None
    host = forms.CharField(label=_("Failed host"),
                           widget=forms.TextInput(attrs={"readonly": True}))
    target_host = forms.ChoiceField(
        label=_("Target host"), required=False,
        help_text=_("Let the scheduler choose unless you have a reason: it checks capacity, "
                    "zones and server groups."))
    power_state = forms.ChoiceField(
        label=_("After evacuation, servers"), required=False,
        choices=((RUNNING, _("come back in their previous power state (running if they "
                             "were running)")),
                 (STOPPED, _("stay stopped until someone starts them"))),
        initial=RUNNING)
    on_shared_storage = forms.BooleanField(
        label=_("Instance disks are on shared storage"), required=False,
        help_text=_("Only for this cloud's API version: tell Nova whether the disks can be "
                    "reused. A wrong answer puts the server in ERROR."))
    force = forms.BooleanField(
        label=_("Force the target host (bypass the scheduler)"), required=False,
        help_text=_("No filter checks the target: if it is full, disabled or down the server "
                    "gets stuck. Needs a target host."))
    # Named as Horizon's operation log masks them with its stock settings (see password.py).
    password = secret.password_field(
        _("Admin password"),
        _("Empty: Nova generates one. Nova only injects it if the hypervisor driver supports "
          "it. It is never stored by this dashboard."))
    confirm_password = secret.password_field(_("Confirm admin password"))
    generate_password = secret.generate_field()
    password_retype = secret.retype_field()
    acknowledge_local_disks = local_disks_field()
    reviewed = forms.CharField(widget=forms.HiddenInput())

    def __init__(self, request, *args, **kwargs):
        self.service = kwargs.pop("service")
        self.services = kwargs.pop("services")
        self.negotiated = kwargs.pop("negotiated")
        self.local_disk_count = kwargs.pop("local_disk_count")
        super().__init__(request, *args, **kwargs)
        self.available = evac_request.options_available(self.negotiated)
        if not self.available.shared_storage_flag:
            del self.fields["on_shared_storage"]
        if not self.available.force:
            del self.fields["force"]
        if not self.available.power_state_choice:
            del self.fields["power_state"]
        if not self.local_disk_count:
            del self.fields["acknowledge_local_disks"]
        self.fields["target_host"].choices = [(SCHEDULER, _("Let the scheduler choose"))] + [
            (name, name) for name in self._usable_targets()]
        self.setup_password()

    def _usable_targets(self):
        source = self.service["host"]
        names = [service["host"] for service in self.services]
        return sorted(name for name in names if name != source and not checks.check_target_host(
            name, source, self.services))

    # --- validation ---------------------------------------------------------------------
    @secret.secret_variables
    def clean(self):
        data = super().clean()
        admin_password = self.checked_password(data)
        if self.password_has_errors():
            return data
        try:
            servers = reviewed.unsign(self.service["host"], data.get("reviewed", ""))
        except ValueError as error:
            raise forms.ValidationError(str(error))
        self.evacuation = evacuations.Evacuation(
            kind=self.kind, service=self.service, services=self.services, servers=servers,
            options=evac_request.EvacuateOptions(
                target_host=data.get("target_host") or None,
                admin_password=admin_password,
                on_shared_storage=(bool(data.get("on_shared_storage"))
                                   if self.available.shared_storage_flag else None),
                force=bool(data.get("force")),
                keep_running=data.get("power_state", RUNNING) != STOPPED),
            negotiated=self.negotiated,
            local_disks_acknowledged=bool(data.get("acknowledge_local_disks")),
            posted=secret.posted_without_password(self.data))
        problems = evacuations.start_problems(self.evacuation)
        if problems:
            raise forms.ValidationError(problems)
        return data

    # --- submission ---------------------------------------------------------------------
    @secret.secret_variables
    def handle(self, request, data):
        try:
            self.batch = evacuations.start(request, self.evacuation)
        except evacuations.AlreadyActive as running:
            if running.batch_id is None:
                self.api_error(str(running))
            else:
                self.api_error(format_html('{} <a href="{}">{}</a>', str(running),
                                           batch_url(running.batch_id),
                                           _("Watch it (or cancel it) there.")))
            return False
        except evacuations.ActionRefused as refused:
            self.api_error(str(refused))
            return False
        return self.batch


class EvacuateHostForm(EvacuateForm):
    kind = "host"


class EvacuateInstanceForm(EvacuateForm):
    kind = "instance"
