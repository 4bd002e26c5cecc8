"""The per-host evacuate wizard: Host, Instances, Targets, Options, Confirm.

A Horizon workflow in wizard mode: every step is validated on the server when the operator
presses Next, and everything (the password included) is posted once, at the end, so no step
has to keep a secret on the server between pages.
"""
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from horizon import forms
from horizon import workflows

from evac_dashboard.content.evacuate import password as secret
from evac_dashboard.content.hosts import fence_forms
from evac_dashboard.operations import evacuations
from evac_dashboard.operations import fencing
from evac_dashboard.operations import host_facts as wizard_facts
from evac_dashboard import conf
from evac_dashboard.rules import checks
from evac_dashboard.rules import priority
from evac_dashboard.rules import request as evac_request
from evac_dashboard.rules import servers as srv

RUNNING = "running"
STOPPED = "stopped"


def _facts(context):
    return context["facts"]


# --- 1. Host -----------------------------------------------------------------------------

# What fencing through the BMC at the start takes care of: the host still looking up, and
# not being forced down yet.
FENCE_SETTLES = ("source_up", "source_not_forced_down")


class HostAction(workflows.Action):
    fence_with_bmc = forms.BooleanField(
        label=_("Fence the host through its BMC when the evacuation starts"), required=False,
        initial=True,
        help_text=_("Before anything is sent: power off, wait until the BMC reports Off, "
                    "force the compute service down and disable it. If Off cannot be "
                    "confirmed, nothing is sent and Nova is not told anything."))
    fenced = forms.BooleanField(
        label=_("The host is powered off or isolated (fenced)"), required=False,
        help_text=_("Evacuating a host that still runs its instances starts them twice and "
                    "corrupts their disks."))

    class Meta:
        name = _("Host")
        help_text_template = "evac_dashboard/wizard/_host_help.html"

    def __init__(self, request, context, *args, **kwargs):
        super().__init__(request, context, *args, **kwargs)
        self.facts = _facts(context)
        self.bmc = fencing.fenceable(self.facts.host)
        if self.bmc is None or self.facts.service.get("forced_down"):
            del self.fields["fence_with_bmc"]  # nothing to fence with, or already done
        else:
            self.fields["fenced"].label = _("Or, without the BMC: I confirm the host is "
                                            "powered off or isolated (fenced)")

    def get_help_text(self, extra_context=None):
        facts = self.facts
        return super().get_help_text({
            "facts": facts, "bmc": self.bmc and self.bmc.label(),
            "fenceable": "fence_with_bmc" in self.fields,
            "fence_settles": FENCE_SETTLES,
            "force_down_url": reverse("horizon:admin:evac_hosts:force_down",
                                      args=[facts.host])})

    def clean(self):
        data = super().clean()
        fence = bool(data.get("fence_with_bmc"))
        findings = self.facts.source_findings() + self.facts.target_findings()
        errors = [f.message for f in findings if f.level == checks.ERROR
                  and not (fence and f.code in FENCE_SETTLES)]
        if errors:
            raise forms.ValidationError(errors)
        if not fence and not data.get("fenced"):
            raise forms.ValidationError(_("Confirm that the host is fenced before evacuating."))
        data["fence_with_bmc"] = fence
        return data


class HostStep(workflows.Step):
    action_class = HostAction
    depends_on = ("facts",)
    contributes = ("fenced", "fence_with_bmc")


# --- 2. Instances ------------------------------------------------------------------------

class InstancesAction(workflows.Action):
    instances = forms.MultipleChoiceField(label=_("Instances to evacuate"), required=False,
                                          widget=forms.CheckboxSelectMultiple())

    class Meta:
        name = _("Instances")
        help_text_template = "evac_dashboard/wizard/_instances_help.html"

    def __init__(self, request, context, *args, **kwargs):
        super().__init__(request, context, *args, **kwargs)
        self.facts = _facts(context)
        field = self.fields["instances"]
        field.choices = [(s["id"], _instance_label(s)) for s in self.facts.eligible]
        field.initial = [s["id"] for s in self.facts.eligible]

    def get_help_text(self, extra_context=None):
        return super().get_help_text({"facts": self.facts})

    def clean(self):
        data = super().clean()
        if not data.get("instances"):
            raise forms.ValidationError(_("Select at least one instance."))
        return data


def _instance_label(server):
    flavor = server.get("flavor") or {}
    disk = _("volume") if srv.is_volume_backed(server) else _("LOCAL disk: rebuilt from image")
    found = priority.restart_priority(server)
    if not found.valid:
        shown = format_html('<span class="evac-state-local" title="{}">{}</span>',
                            found.problem, _("invalid priority"))
    elif found.raw is None:
        shown = format_html("{} -", _("priority"))
    else:
        shown = format_html("{} {}", _("priority"), found.value)
    return format_html(
        '<span class="evac-wizard-instance" data-priority="{}" data-local-disk="{}">{} '
        '<span class="evac-reason">{} · {} · {} · {}</span></span>',
        found.value, "0" if srv.is_volume_backed(server) else "1", srv.label(server),
        server.get("status"), flavor.get("original_name", "?"), disk, shown)


class InstancesStep(workflows.Step):
    action_class = InstancesAction
    depends_on = ("facts",)
    contributes = ("instances",)


# --- 3. Targets and capacity -------------------------------------------------------------

class TargetsAction(workflows.Action):
    mode = forms.ChoiceField(
        label=_("Where to"), initial=wizard_facts.SCHEDULER,
        choices=((wizard_facts.SCHEDULER, _("Let the scheduler choose for each instance")),
                 (wizard_facts.PLAN, _("Pin each instance to the host of the capacity plan")),
                 (wizard_facts.ONE_HOST, _("Send all of them to one host"))))
    target_host = forms.ChoiceField(label=_("Target host (for 'one host')"), required=False)
    accept_shortfall = forms.BooleanField(
        label=_("Evacuate anyway although the estimate says not everything fits"),
        required=False)

    class Meta:
        name = _("Targets and capacity")
        help_text_template = "evac_dashboard/wizard/_targets_help.html"

    def __init__(self, request, context, *args, **kwargs):
        super().__init__(request, context, *args, **kwargs)
        self.facts = _facts(context)
        self.fields["target_host"].choices = [("", "-")] + [
            (name, name) for name in self.facts.usable_targets()]

    def get_help_text(self, extra_context=None):
        return super().get_help_text({
            "facts": self.facts,
            "preview_url": reverse("horizon:admin:evac_hosts:wizard_capacity",
                                   args=[self.facts.host])})

    def clean(self):
        data = super().clean()
        if data.get("mode") == wizard_facts.ONE_HOST and not data.get("target_host"):
            raise forms.ValidationError(_("Choose the target host."))
        selected = self.data.getlist("instances")  # step 2's field, posted with every step
        plan = self.facts.plan(selected, data.get("mode"), data.get("target_host"))
        if not plan.all_fit and self.facts.capacity_hosts and not data.get("accept_shortfall"):
            raise forms.ValidationError(
                [ngettext("The capacity estimate says %d instance does not fit:",
                          "The capacity estimate says %d instances do not fit:",
                          len(plan.unplaced)) % len(plan.unplaced)]
                + [a.explain() for a in plan.unplaced[:10]])
        data["plan_targets"] = ({a.need.id: a.host for a in plan.assignments if a.fits}
                                if data.get("mode") == wizard_facts.PLAN else None)
        return data


class TargetsStep(workflows.Step):
    action_class = TargetsAction
    depends_on = ("facts",)
    contributes = ("mode", "target_host", "accept_shortfall", "plan_targets")


# --- 4. Options --------------------------------------------------------------------------

class OptionsAction(secret.PasswordFormMixin, workflows.Action):
    power_state = forms.ChoiceField(
        label=_("After evacuation, servers"), required=False, initial=RUNNING,
        choices=((RUNNING, _("come back in their previous power state")),
                 (STOPPED, _("stay stopped until someone starts them"))))
    on_shared_storage = forms.BooleanField(
        label=_("Instance disks are on shared storage"), required=False)
    force = forms.BooleanField(label=_("Force the target host (bypass the scheduler)"),
                               required=False)
    # Named as Horizon's operation log masks them with its stock settings; never rendered
    # with a value, so a wizard shown again asks for them again (see evacuate/password.py).
    password = secret.password_field(_("Admin password"),
                                     _("Empty: Nova generates one. Never stored."))
    confirm_password = secret.password_field(_("Confirm admin password"))
    generate_password = secret.generate_field()
    password_retype = secret.retype_field()
    concurrency = forms.IntegerField(
        label=_("Evacuations in flight at once"), min_value=1, max_value=64,
        help_text=_("Nova's API limits the pace on small clouds; more helps with many API "
                    "workers."))

    class Meta:
        name = _("Options")

    def __init__(self, request, context, *args, **kwargs):
        super().__init__(request, context, *args, **kwargs)
        self.facts = _facts(context)
        available = evac_request.options_available(self.facts.negotiated)
        for name, present in (("on_shared_storage", available.shared_storage_flag),
                              ("force", available.force),
                              ("power_state", available.power_state_choice)):
            if not present:
                del self.fields[name]
        self.fields["concurrency"].initial = conf.submit_concurrency()
        self.setup_password()

    @secret.secret_variables
    def clean(self):
        data = super().clean()
        data["admin_password"] = self.checked_password(data)
        return data


class OptionsStep(workflows.Step):
    action_class = OptionsAction
    depends_on = ("facts",)
    contributes = ("power_state", "on_shared_storage", "force", "admin_password", "concurrency")


# --- 5. Confirm --------------------------------------------------------------------------

class ConfirmAction(workflows.Action):
    acknowledge_local_disks = forms.BooleanField(
        label=_("I understand that the selected instances with a local root disk are rebuilt "
                "from their image unless their storage is shared: their data may be lost"),
        required=False)
    confirm = forms.BooleanField(label=_("Start the evacuation"), required=True)

    class Meta:
        name = _("Confirm")
        help_text_template = "evac_dashboard/wizard/_confirm_help.html"

    def __init__(self, request, context, *args, **kwargs):
        super().__init__(request, context, *args, **kwargs)
        self.facts = _facts(context)
        if not _local_disk_servers(self.facts.eligible):
            del self.fields["acknowledge_local_disks"]

    def get_help_text(self, extra_context=None):
        return super().get_help_text({
            "facts": self.facts,
            "local_disk_names": [srv.label(s) for s in _local_disk_servers(self.facts.eligible)]})

    def clean(self):
        data = super().clean()
        chosen = set(self.data.getlist("instances"))  # step 2's field, posted with every step
        local = [s for s in _local_disk_servers(self.facts.eligible) if s["id"] in chosen]
        if local and not data.get("acknowledge_local_disks"):
            raise forms.ValidationError(
                _("Confirm that you understand these instances are rebuilt from their image: "
                  "%s.") % ", ".join(srv.label(s) for s in local[:10]))
        return data


def _local_disk_servers(servers):
    return [s for s in servers if not srv.is_volume_backed(s)]


class ConfirmStep(workflows.Step):
    action_class = ConfirmAction
    depends_on = ("facts",)
    contributes = ("confirm", "acknowledge_local_disks")


# --- the workflow ------------------------------------------------------------------------

class EvacuateHostWizard(workflows.Workflow):
    slug = "evacuate_host_wizard"
    name = _("Evacuate Host")
    finalize_button_name = _("Start evacuation")
    wizard = True
    default_steps = (HostStep, InstancesStep, TargetsStep, OptionsStep, ConfirmStep)

    success_message = _("Evacuation of %s started.")
    failure_message = _("The evacuation of %s did not start.")

    def format_status_message(self, message):
        """The real reason when the start was refused, else Horizon's message."""
        refusal = getattr(self, "refusal", None)
        if refusal:
            return refusal
        return message % self.context["facts"].host

    def get_success_url(self):
        batch = getattr(self, "batch", None)
        if batch is None:
            return reverse("horizon:admin:evac_hosts:index")
        return reverse("horizon:admin:evac_batches:detail", args=[batch.pk])

    @secret.secret_variables
    def handle(self, request, context):
        facts = context["facts"]
        chosen = set(context["instances"])
        target = context.get("target_host") if context.get("mode") == wizard_facts.ONE_HOST \
            else None
        evacuation = evacuations.Evacuation(
            kind="host", service=facts.service, services=facts.services,
            servers=[s for s in facts.eligible if s["id"] in chosen],
            options=evac_request.EvacuateOptions(
                target_host=target or None,
                admin_password=context.get("admin_password") or None,
                on_shared_storage=(bool(context.get("on_shared_storage"))
                                   if "on_shared_storage" in context else None),
                force=bool(context.get("force")),
                keep_running=context.get("power_state") != STOPPED),
            negotiated=facts.negotiated,
            local_disks_acknowledged=bool(context.get("acknowledge_local_disks")),
            posted=secret.posted_without_password(request.POST),
            targets=context.get("plan_targets"),
            concurrency=context.get("concurrency"))
        if context.get("fence_with_bmc"):
            return self._fence_then_start(request, evacuation)
        try:
            self.batch = evacuations.start(request, evacuation)
        except evacuations.AlreadyActive as running:
            self.refusal = str(running)
            if running.batch_id is not None:
                self.refusal = format_html(
                    '{} <a href="{}">{}</a>', str(running),
                    reverse("horizon:admin:evac_batches:detail", args=[running.batch_id]),
                    _("Watch it (or cancel it) there."))
            return False
        except evacuations.ActionRefused as refused:
            self.refusal = str(refused)
            return False
        return True

    def _fence_then_start(self, request, evacuation):
        """Fence through the BMC, then start: each step shown as it went."""
        report, self.batch = fencing.fence_and_evacuate(request, evacuation, disable=True,
                                                        reason=str(_("fenced: evacuating")))
        if self.batch is None:
            if report.forced_down:  # fenced: say so on the next page too
                fence_forms.announce(request, report)
            self.refusal = format_html("{}{}", report.stopped_because,
                                       fence_forms.steps_html(report))
            return False
        fence_forms.announce(request, report)
        return True
