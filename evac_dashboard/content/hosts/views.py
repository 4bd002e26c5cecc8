"""Compute Hosts: the list of hosts with their service state, and one host's instances."""
from django.urls import reverse_lazy
from django.utils.translation import gettext_lazy as _

from horizon import exceptions
from horizon import messages
from horizon import tables

from evac_dashboard.api import nova
from evac_dashboard.content.hosts import tables as host_tables
from evac_dashboard.evacuation import hosts as host_model


class IndexView(tables.DataTableView):
    table_class = host_tables.ComputeHostsTable
    template_name = "evac_dashboard/hosts/index.html"
    page_title = _("Compute Hosts")

    def get_data(self):
        try:
            services = nova.service_list(self.request)
            hypervisors, servers_listed = nova.hypervisor_list(self.request)
        except Exception:
            exceptions.handle(self.request, _("Unable to retrieve compute hosts from Nova."))
            return []
        return host_model.build_hosts(services, hypervisors, servers_listed=servers_listed)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        hosts = context["table"].data
        context["down_count"] = sum(1 for host in hosts if host.is_down)
        try:
            context["microversion"] = ".".join(map(str, nova.negotiated_version(self.request)))
        except Exception:
            context["microversion"] = None
        return context


class DetailView(tables.DataTableView):
    table_class = host_tables.HostInstancesTable
    template_name = "evac_dashboard/hosts/detail.html"
    page_title = _("Compute host {{ host.host }}")
    redirect_url = reverse_lazy("horizon:admin:evac_hosts:index")

    def _host(self):
        if not hasattr(self, "_host_row"):
            name = self.kwargs["host"]
            try:
                service = nova.service_get(self.request, name)
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
        try:
            servers = nova.servers_on_host(self.request, host.host)
        except Exception:
            exceptions.handle(self.request,
                              _("Unable to retrieve the instances on %s.") % host.host)
            return []
        try:
            projects = nova.project_names(self.request)
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
        return context
