"""Tables of the Compute Hosts panel: hosts, and the instances on one host."""
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from horizon import tables

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


def host_link(host):
    return reverse("horizon:admin:evac_hosts:detail", args=[host.host])


class ComputeHostsTable(tables.DataTable):
    host = tables.Column("host", verbose_name=_("Host"), link=host_link)
    hypervisor = tables.Column("hypervisor_hostname", verbose_name=_("Hypervisor"))
    zone = tables.Column("zone", verbose_name=_("Zone"))
    state = tables.Column(display.host_state, verbose_name=_("State"))
    forced_down = tables.Column(display.forced_down, verbose_name=_("Forced down"))
    status = tables.Column(display.service_status, verbose_name=_("Service"))
    heartbeat = tables.Column(display.heartbeat_age, verbose_name=_("Last heartbeat"),
                              help_text=_("Time since Nova last updated the service record: "
                                          "its periodic report, or an admin change."))
    instances = tables.Column(display.instance_count, verbose_name=_("Instances"))
    vcpus = tables.Column(display.vcpu_use, verbose_name=_("vCPUs used"))
    memory = tables.Column(display.memory_use, verbose_name=_("RAM used"))

    class Meta:
        name = "compute_hosts"
        verbose_name = _("Compute Hosts")
        row_class = HostRow
        table_actions = (HostFilterAction,)
        multi_select = False


class HostInstancesTable(tables.DataTable):
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
        table_actions = (HostFilterAction,)
        multi_select = False
