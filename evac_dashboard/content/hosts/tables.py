"""Tables of the Compute Hosts panel: hosts, and the instances on one host."""
from django.urls import NoReverseMatch
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from horizon import tables

from evac_dashboard.operations import cloud_reads as cloud
from evac_dashboard.content import display


class HostFilterAction(tables.FilterAction):
    """Client-side filter on every column's text: a host name, "down", "forced", a zone…"""

    name = "filter"


class HostRow(tables.Row):
    """Down and forced-down hosts carry a class (styled) *and* visible text in the cells."""

    def load_cells(self, datum=None):
        super().load_cells(datum)
        if self.datum.forced_down:
            self.classes.append("evac-host-forced-down")
        elif self.datum.is_down:
            self.classes.append("evac-host-down")


class HostModalAction(tables.LinkAction):
    """A row action opening one of the host service modals."""

    classes = ("ajax-modal",)
    policy_rules = (("compute", "os_compute_api:os-services:update"),)
    url_name = None

    def get_link_url(self, datum):
        return host_url(self.url_name or self.name, datum.host) or "#"


def has_bmc(table, host):
    return host.host in getattr(table, "bmc_hosts", ())


class FenceAndEvacuate(HostModalAction):
    """The outage path for a host with a BMC: power it off, confirm Off, force it down and
    evacuate its instances, in one action. It leads a down host's row."""

    name = "fence_evacuate"
    verbose_name = _("Fence and evacuate")
    classes = ("ajax-modal", "btn-danger")
    policy_rules = (("compute", "os_compute_api:os-evacuate"),)

    def allowed(self, request, host):
        return (has_bmc(self.table, host) and host.is_down and not host.forced_down
                and host.instance_count != 0 and cloud.supports(request, "service_force_down"))


class Fence(HostModalAction):
    """Power off through the BMC, confirm Off, then force the service down."""

    name = "fence"
    verbose_name = _("Fence (power off, force down)")
    classes = ("ajax-modal", "btn-danger")

    def allowed(self, request, host):
        return (has_bmc(self.table, host) and host.is_down and not host.forced_down
                and cloud.supports(request, "service_force_down"))


class FenceRunningHost(Fence):
    """Fencing a host that still heartbeats is possible but never the suggested action."""

    name = "fence_running"
    url_name = "fence"
    verbose_name = _("Fence…")
    classes = ("ajax-modal",)

    def allowed(self, request, host):
        return (has_bmc(self.table, host) and not host.is_down and not host.forced_down
                and cloud.supports(request, "service_force_down"))


class PowerOn(HostModalAction):
    """After repair: power the host on through its BMC."""

    name = "power_on"
    verbose_name = _("Power On")

    def allowed(self, request, host):
        return has_bmc(self.table, host) and (host.is_down or host.forced_down)


class ForceDown(HostModalAction):
    """The first thing to do for a dead host without a BMC entry: it leads the row's
    actions (a host with one is fenced instead)."""

    name = "force_down"
    verbose_name = _("Force Down (host is fenced)")
    classes = ("ajax-modal", "btn-danger")

    def allowed(self, request, host):
        return (not has_bmc(self.table, host) and host.is_down and not host.forced_down
                and cloud.supports(request, "service_force_down"))


class ForceDownRunningHost(ForceDown):
    """Fencing a host that still heartbeats is possible but never the suggested action."""

    name = "force_down_running"
    url_name = "force_down"
    verbose_name = _("Force Down…")
    classes = ("ajax-modal",)

    def allowed(self, request, host):
        return (not has_bmc(self.table, host) and not host.is_down
                and cloud.supports(request, "service_force_down"))


class EvacuateHost(HostModalAction):
    name = "evacuate_host"
    verbose_name = _("Evacuate Host")
    classes = ("ajax-modal", "btn-primary")
    policy_rules = (("compute", "os_compute_api:os-evacuate"),)

    def allowed(self, request, host):
        """Nova accepts evacuations only while it sees the host down."""
        return host.is_evacuable and host.instance_count != 0


class EvacuateHostWizard(tables.LinkAction):
    """The guided path: review, choose instances and targets, then watch.

    Only on a host Nova sees down: it refuses to evacuate from an up one, and Force Down…
    is in the row's menu for a host that is dead but still looks up."""

    name = "wizard"
    verbose_name = _("Evacuate host (wizard)…")
    policy_rules = (("compute", "os_compute_api:os-evacuate"),)

    def get_link_url(self, host):
        return host_url("wizard", host.host) or "#"

    def allowed(self, request, host):
        return host.is_evacuable and host.instance_count != 0


class ViewInstances(tables.LinkAction):
    """The primary action of a healthy host's row: look, not evacuate."""

    name = "view"
    verbose_name = _("View Instances")

    def get_link_url(self, host):
        return host_link(host)

    def allowed(self, request, host):
        return not host.is_down


class UnsetForceDown(HostModalAction):
    name = "unset_force_down"
    verbose_name = _("Unset Force Down")

    def allowed(self, request, host):
        return host.forced_down


class DisableService(HostModalAction):
    name = "disable"
    verbose_name = _("Disable Service")

    def allowed(self, request, host):
        return host.status == "enabled"


class EnableService(HostModalAction):
    name = "enable"
    verbose_name = _("Enable Service")

    def allowed(self, request, host):
        return host.status == "disabled"


def host_url(view, *args):
    """The URL of a host's page, or None for a Nova host name no URL can hold ('/')."""
    try:
        return reverse("horizon:admin:evac_hosts:" + view, args=args)
    except NoReverseMatch:
        return None


def host_link(host):
    return host_url("detail", host.host)


class PowerColumn(tables.Column):
    """The BMC's power state: rendered as a placeholder the page's script fills in
    (``evac.power.js``), so the page never waits for a BMC; "Not configured" at once for a
    host without one."""

    def get_raw_data(self, datum):
        if has_bmc(self.table, datum):
            return format_html('<span class="evac-power" data-host="{}" aria-live="polite">'
                               '<span class="evac-power-waiting">{}</span></span>',
                               datum.host, _("reading…"))
        return format_html('<span class="evac-power evac-power-not_configured">{}</span>',
                           _("Not configured"))


class ComputeHostsTable(tables.DataTable):
    host = tables.Column("host", verbose_name=_("Host"), link=host_link)
    hypervisor = tables.Column("hypervisor_hostname", verbose_name=_("Hypervisor"))
    zone = tables.Column("zone", verbose_name=_("Zone"))
    state = tables.Column(display.host_state, verbose_name=_("State"))
    power = PowerColumn("power", verbose_name=_("Power (BMC)"), classes=("evac-power-cell",))
    forced_down = tables.Column(display.forced_down, verbose_name=_("Forced down"))
    status = tables.Column(display.service_status, verbose_name=_("Service"))
    record = tables.Column(display.record_age, verbose_name=_("Record updated"),
                           help_text=display.RECORD_HELP)
    instances = tables.Column(display.instance_count, verbose_name=_("Instances"))
    vcpus = tables.Column(display.vcpu_use, verbose_name=_("vCPUs used"))
    memory = tables.Column(display.memory_use, verbose_name=_("RAM used"))

    class Meta:
        name = "compute_hosts"
        verbose_name = _("Compute Hosts")
        row_class = HostRow
        table_actions = (HostFilterAction,)
        # The first allowed action is the row's button: fencing or evacuating a down host,
        # viewing an up one.
        row_actions = (FenceAndEvacuate, Fence, ForceDown, EvacuateHost, EvacuateHostWizard,
                       ViewInstances, UnsetForceDown, PowerOn, DisableService, EnableService,
                       FenceRunningHost, ForceDownRunningHost)
        multi_select = False

    # Hosts with an entry in the BMC file (set by the view): fenced through their BMC.
    bmc_hosts = frozenset()


class EvacuateInstance(tables.LinkAction):
    name = "evacuate"
    verbose_name = _("Evacuate")
    classes = ("ajax-modal",)
    policy_rules = (("compute", "os_compute_api:os-evacuate"),)

    def get_link_url(self, instance):
        return host_url("evacuate_instance", self.table.source_host.host, instance.id) or "#"

    def allowed(self, request, instance):
        source = getattr(self.table, "source_host", None)
        return (source is not None and source.is_evacuable
                and instance.status in ("ACTIVE", "SHUTOFF", "ERROR"))


class EvacuateThisHost(tables.LinkAction):
    """On the host's page (where a fence lands): the next step, for every instance."""

    name = "evacuate_host"
    verbose_name = _("Evacuate Host")
    classes = ("ajax-modal", "btn-primary")
    policy_rules = (("compute", "os_compute_api:os-evacuate"),)

    def get_link_url(self, datum=None):
        return host_url("evacuate_host", self.table.source_host.host) or "#"

    def allowed(self, request, datum=None):
        source = getattr(self.table, "source_host", None)
        return source is not None and source.is_evacuable and bool(self.table.data)


class EvacuateThisHostWizard(EvacuateThisHost):
    name = "wizard"
    verbose_name = _("Evacuate host (wizard)…")
    classes = ()

    def get_link_url(self, datum=None):
        return host_url("wizard", self.table.source_host.host) or "#"


class HostInstancesTable(tables.DataTable):
    """``show_source_host`` hides the actions column when the host is up: nothing to do there."""

    name = tables.Column("name", verbose_name=_("Name"),
                         link="horizon:admin:instances:detail")
    project = tables.Column("project_name", verbose_name=_("Project"))
    status = tables.Column("status", verbose_name=_("Status"))
    task_state = tables.Column(display.task_state, verbose_name=_("Task"))
    flavor = tables.Column(display.flavor, verbose_name=_("Flavor"))
    root_disk = tables.Column(display.root_disk, verbose_name=_("Root disk"))
    priority = tables.Column(display.restart_priority, verbose_name=_("Restart priority"))

    class Meta:
        name = "host_instances"
        verbose_name = _("Instances")
        table_actions = (HostFilterAction, EvacuateThisHostWizard, EvacuateThisHost)
        row_actions = (EvacuateInstance,)
        multi_select = False

    def show_source_host(self, host):
        self.source_host = host  # row actions need the host's state
        if not host.is_evacuable:
            self.columns.pop("actions", None)
