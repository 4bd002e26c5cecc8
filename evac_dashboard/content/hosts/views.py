"""Compute Hosts: the list of hosts with their service state, and one host's instances."""
from django.urls import reverse
from django.urls import reverse_lazy
from django.utils.translation import gettext_lazy as _

from horizon import exceptions
from horizon import forms
from horizon import messages
from horizon import tables

from evac_dashboard import conf
from evac_dashboard.operations import bmc_inventory
from evac_dashboard.operations import cloud_reads as cloud
from evac_dashboard.operations import history
from evac_dashboard.operations import power_states
from evac_dashboard.content import database
from evac_dashboard.content import modals
from evac_dashboard.content import table_actions
from evac_dashboard.content.hosts import forms as host_forms
from evac_dashboard.content.hosts import tables as host_tables
from evac_dashboard.rules import hosts as host_model


class IndexView(table_actions.GuardedTableMixin, tables.DataTableView):
    table_class = host_tables.ComputeHostsTable
    template_name = "evac_dashboard/hosts/index.html"
    page_title = _("Compute Hosts")

    def get_data(self):
        try:
            services = cloud.service_list(self.request)
            hypervisors, servers_listed = cloud.hypervisor_list(self.request)
        except Exception:
            exceptions.handle(self.request, _("Unable to retrieve compute hosts from Nova."))
            return []
        hosts = host_model.build_hosts(services, hypervisors, servers_listed=servers_listed)
        # Which hosts have a BMC: the file only, no BMC is asked (the page's script does).
        self.table.bmc_hosts = frozenset(power_states.configured_hosts([h.host for h in hosts]))
        return hosts

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        hosts = context["table"].data
        context["down_count"] = sum(1 for host in hosts if host.is_down)
        context["bmc_count"] = len(context["table"].bmc_hosts)
        context["bmc_problem"] = bmc_inventory.problem()
        context["no_database"] = None if conf.database_configured() else database.MESSAGE
        context["power_url"] = reverse("horizon:admin:evac_hosts:power_states")
        context["power_interval"] = max(5, int(conf.bmc_power_cache_seconds()) or 15)
        try:
            context["microversion"] = ".".join(map(str, cloud.negotiated_version(self.request)))
        except Exception:
            context["microversion"] = None
        return context


class DetailView(table_actions.GuardedTableMixin, tables.DataTableView):
    table_class = host_tables.HostInstancesTable
    template_name = "evac_dashboard/hosts/detail.html"
    page_title = _("Compute host {{ host.host }}")
    redirect_url = reverse_lazy("horizon:admin:evac_hosts:index")

    def _host(self):
        if not hasattr(self, "_host_row"):
            name = self.kwargs["host"]
            try:
                service = cloud.service_get(self.request, name)
            except Exception:
                exceptions.handle(self.request, _("Unable to retrieve host %s.") % name,
                                  redirect=self.redirect_url)
            if service is None:
                messages.error(self.request, _("There is no compute host named %s.") % name)
                raise exceptions.Http302(self.redirect_url)
            self._host_row = host_model.build_hosts([service], [])[0]
        return self._host_row

    def get_data(self):
        host = self._host()
        self.table.show_source_host(host)
        try:
            servers = cloud.servers_on_host(self.request, host.host)
        except Exception:
            exceptions.handle(self.request,
                              _("Unable to retrieve the instances on %s.") % host.host)
            return []
        try:
            projects = cloud.project_names(self.request)
        except Exception:
            projects = {}
            exceptions.handle(self.request, _("Unable to retrieve project names."))
        return host_model.build_instances(servers, projects)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        host = self._host()
        instances = context["table"].data
        context["host"] = host
        context["local_disk_count"] = sum(1 for row in instances if row.root_disk == "local")
        context["fence_records"] = self._last_fence(host.host)
        return context

    def _last_fence(self, host):
        if not conf.database_configured():
            return []
        try:
            return history.last_fence(host)
        except Exception:  # the host's page stands without its audit log
            exceptions.handle(self.request, _("Unable to read the audit log of %s.") % host)
            return []


class HostServiceView(modals.PlainModalMixin, forms.ModalFormView):
    """One modal per service action; subclasses name the form and explain it."""

    template_name = "evac_dashboard/hosts/service_form.html"
    success_url = reverse_lazy("horizon:admin:evac_hosts:index")
    explanation = ()
    only_when_disabled = ()  # paragraphs about enabling, not shown for an enabled service
    url_name = None

    def _service(self):
        if not hasattr(self, "_service_dict"):
            name = self.kwargs["host"]
            try:
                self._service_dict = cloud.service_get(self.request, name)
            except Exception:
                exceptions.handle(self.request, _("Unable to retrieve host %s.") % name,
                                  redirect=self.success_url)
            if self._service_dict is None:
                messages.error(self.request, _("There is no compute host named %s.") % name)
                raise exceptions.Http302(self.success_url)
        return self._service_dict

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        kwargs["service"] = self._service()
        return kwargs

    def get_initial(self):
        return {"host": self.kwargs["host"]}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["service"] = self._service()
        context["explanation"] = self.explanation
        context["submit_url"] = reverse("horizon:admin:evac_hosts:" + self.url_name,
                                        args=[self.kwargs["host"]])
        if context["service"].get("status") == "enabled":
            context["explanation"] = tuple(
                p for p in self.explanation if p not in self.only_when_disabled)
        return context


class ForceDownView(HostServiceView):
    form_class = host_forms.ForceDownForm
    url_name = "force_down"
    modal_id = "evac_force_down_modal"
    page_title = _("Force Down Compute Host")
    submit_label = _("Force Down")
    explanation = (
        _("Forcing the host down tells Nova it is fenced: Nova stops waiting for its "
          "heartbeat to expire and accepts evacuations of its instances at once."),
        _("Only do this when the host is really powered off or isolated (for example "
          "through its IPMI/BMC or by shutting its switch ports). A host that still runs its "
          "instances, or still writes to shared storage, would have them started twice and "
          "their disks corrupted."),
        _("It stays forced down after it comes back, until you unset it."),
    )


class UnsetForceDownView(HostServiceView):
    form_class = host_forms.UnsetForceDownForm
    url_name = "unset_force_down"
    modal_id = "evac_unset_force_down_modal"
    page_title = _("Unset Force Down")
    submit_label = _("Unset Force Down")
    explanation = (
        _("Do this once the host is repaired and nova-compute runs on it again."),
        _("At start, nova-compute destroys the evacuated instances it still holds and marks "
          "their evacuation records completed. Nova refuses to unset force down while "
          "records in the 'done' state remain: restart nova-compute on the host first."),
        _("The service stays disabled until you enable it."),
    )
    only_when_disabled = (explanation[-1],)


class DisableServiceView(HostServiceView):
    form_class = host_forms.DisableServiceForm
    url_name = "disable"
    modal_id = "evac_disable_modal"
    page_title = _("Disable Compute Service")
    submit_label = _("Disable")
    explanation = (
        _("A disabled compute service gets no new instances from the scheduler. Its "
          "instances keep running. Give a reason other admins will understand."),
    )


class EnableServiceView(HostServiceView):
    form_class = host_forms.EnableServiceForm
    url_name = "enable"
    modal_id = "evac_enable_modal"
    page_title = _("Enable Compute Service")
    submit_label = _("Enable")
    explanation = (
        _("The scheduler will place new and evacuated instances on this host again."),
    )
