"""Fence, Fence and evacuate and Power On modals, and the power column's JSON endpoint."""
from django import http
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views import generic

from horizon import exceptions

from evac_dashboard import conf
from evac_dashboard.content.evacuate import reviewed
from evac_dashboard.content.hosts import fence_forms
from evac_dashboard.content.hosts import views as host_views
from evac_dashboard.operations import bmc_inventory
from evac_dashboard.operations import cloud_reads as cloud
from evac_dashboard.operations import power_states
from evac_dashboard.rules import checks
from evac_dashboard.rules import priority
from evac_dashboard.rules import servers as srv

FENCE_TEMPLATE = "evac_dashboard/hosts/fence_form.html"


class BmcHostView(host_views.HostServiceView):
    """A host service modal that needs the host's BMC entry (shown without secrets)."""

    template_name = FENCE_TEMPLATE
    submit_class = "btn-danger"  # powering off cannot be taken back

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        entry = bmc_inventory.entry_for(self.kwargs["host"])
        context["bmc"] = entry.public() if entry else None
        context["bmc_label"] = entry.label() if entry else ""
        context["bmc_problem"] = (bmc_inventory.problem()
                                  or bmc_inventory.host_problem(self.kwargs["host"]))
        context["fence_timeout"] = int(conf.bmc_fence_timeout())
        context["submit_class"] = self.submit_class
        return context


class FenceView(BmcHostView):
    form_class = fence_forms.FenceForm
    url_name = "fence"
    modal_id = "evac_fence_modal"
    page_title = _("Fence Compute Host")
    submit_label = _("Fence")
    explanation = (
        _("Fencing powers the host off through its BMC (a forced power-off, not a shutdown), "
          "waits until the BMC reports it Off, and only then forces its compute service down "
          "so Nova accepts evacuations at once."),
        _("If the BMC cannot confirm Off, nothing is changed in Nova and you are told why. "
          "Only then, and only if you know the host is powered off or isolated, type its name "
          "to force it down anyway (recorded as your confirmation)."),
    )

    def get_success_url(self):
        """The host's page: its instances to evacuate next, and the fence's steps."""
        return reverse("horizon:admin:evac_hosts:detail", args=[self.kwargs["host"]])


class FenceAndEvacuateView(BmcHostView):
    form_class = fence_forms.FenceAndEvacuateForm
    url_name = "fence_evacuate"
    modal_id = "evac_fence_evacuate_modal"
    page_title = _("Fence and Evacuate")
    submit_label = _("Fence and evacuate")
    explanation = FenceView.explanation + (
        _("Once the service is forced down, every instance listed is evacuated (the scheduler "
          "chooses the targets) and you land on the evacuation's progress page."),
    )

    def _servers(self):
        if not hasattr(self, "_eligible"):
            host = self.kwargs["host"]
            if self.request.method == "POST":
                self._eligible = []  # the form reads the signed list it was given
            else:
                try:
                    servers = priority.submission_order(cloud.servers_on_host(self.request,
                                                                              host))
                except Exception:
                    exceptions.handle(self.request, _("Unable to read the instances on %s.")
                                      % host, redirect=self.success_url)
                findings = checks.check_instance_states(servers, host)
                excluded = {i for f in findings if f.level == checks.ERROR for i in f.ids}
                self._eligible = [s for s in servers if s["id"] not in excluded]
        return self._eligible

    def _local_disk_count(self):
        if self.request.method == "POST":
            try:
                servers = reviewed.unsign(self.kwargs["host"],
                                          self.request.POST.get("reviewed", ""))
            except ValueError:
                servers = []
        else:
            servers = self._servers()
        return sum(1 for s in servers if not srv.is_volume_backed(s))

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        try:
            kwargs["negotiated"] = cloud.negotiated_version(self.request)
        except Exception:
            exceptions.handle(self.request, _("Unable to read Nova's API version."),
                              redirect=self.success_url)
        kwargs["local_disk_count"] = self._local_disk_count()
        return kwargs

    def get_initial(self):
        initial = super().get_initial()
        initial["reviewed"] = reviewed.sign(self.kwargs["host"], self._servers())
        return initial

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["instances"] = [{"name": srv.label(s), "status": s.get("status")}
                                for s in self._servers()]
        context["show_instances"] = self.request.method != "POST"
        return context

    def get_form(self, form_class=None):
        self._form = super().get_form(form_class)
        return self._form

    def get_success_url(self):
        batch = getattr(getattr(self, "_form", None), "batch", None)
        if batch is None:
            return str(self.success_url)
        return reverse("horizon:admin:evac_batches:detail", args=[batch.pk])


class PowerOnView(BmcHostView):
    submit_class = "btn-primary"
    form_class = fence_forms.PowerOnForm
    url_name = "power_on"
    modal_id = "evac_power_on_modal"
    page_title = _("Power On Compute Host")
    submit_label = _("Power On")
    explanation = (
        _("Powers the repaired host on through its BMC and waits until the BMC reports On."),
        _("A forced-down service stays forced down: once nova-compute has started on the "
          "host and cleaned up its evacuated instances, use Unset Force Down."),
    )


class PowerStatesView(generic.View):
    """``GET``: ``{"hosts": {host: {"state", "label", "detail", "seconds"}}}`` for every host
    with a BMC entry (``?fresh=1`` skips the short cache). No credential is ever in it."""

    def get(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return http.JsonResponse({"error": "not logged in"}, status=401)
        inventory = bmc_inventory.inventory()
        hosts = sorted(inventory.entries)
        wanted = request.GET.get("host")
        if wanted:
            hosts = [h for h in hosts if h == wanted]
        readings = power_states.read(hosts, fresh=request.GET.get("fresh") == "1")
        response = http.JsonResponse({
            "hosts": {host: reading.as_json() for host, reading in readings.items()},
            "problem": bmc_inventory.problem()})
        response["Cache-Control"] = "no-store"
        return response
