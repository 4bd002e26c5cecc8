"""Evacuate Host and Evacuate Instance modals."""
from django.urls import reverse
from django.urls import reverse_lazy
from django.utils.translation import gettext_lazy as _

from horizon import exceptions
from horizon import forms
from horizon import messages

from evac_dashboard.operations import cloud_reads as cloud
from evac_dashboard.content import modals
from evac_dashboard.content.evacuate import forms as evacuate_forms
from evac_dashboard.content.evacuate import password as secret
from evac_dashboard.content.evacuate import reviewed
from evac_dashboard.operations import host_facts
from evac_dashboard.rules import checks
from evac_dashboard.rules import priority
from evac_dashboard.rules import request as evac_request
from evac_dashboard.rules import servers as srv

HOSTS_URL = reverse_lazy("horizon:admin:evac_hosts:index")


@secret.protect_view
class EvacuateView(modals.PlainModalMixin, forms.ModalFormView):
    """Loads the host, the candidate targets and the instances, once per GET or POST.

    The password fields stay out of error reports and caches (``secret.protect_view``).
    """

    template_name = "evac_dashboard/evacuate/evacuate.html"
    success_url = HOSTS_URL

    def _load(self):
        if hasattr(self, "_loaded"):
            return self._loaded
        host = self.kwargs["host"]
        try:
            service = cloud.service_get(self.request, host)
            if service is None:
                messages.error(self.request, _("There is no compute host named %s.") % host)
                raise exceptions.Http302(HOSTS_URL)
            services = cloud.service_list(self.request)
            negotiated = cloud.negotiated_version(self.request)
            servers = (self._posted_servers() if self.request.method == "POST"
                       else self.servers_to_review(host))
        except exceptions.Http302:
            raise
        except Exception:
            exceptions.handle(self.request, _("Unable to read host %s from Nova.") % host,
                              redirect=HOSTS_URL)
        self._loaded = self._review(service, services, negotiated, servers)
        return self._loaded

    def servers_to_review(self, host):
        raise NotImplementedError

    def _posted_servers(self):
        """On POST the instances are the signed list the GET showed (see reviewed.py)."""
        try:
            return reviewed.unsign(self.kwargs["host"], self.request.POST.get("reviewed", ""))
        except ValueError:
            return []  # the form's clean() reports the bad list

    def _review(self, service, services, negotiated, servers):
        # Listed, signed and sent in one order: the batch's (restart priority, then name).
        servers = priority.submission_order(servers)
        findings = checks.check_instance_states(servers, service["host"])
        excluded_ids = {i for f in findings if f.level == checks.ERROR for i in f.ids}
        eligible = [s for s in servers if s["id"] not in excluded_ids]
        local = [srv.label(s) for s in eligible if not srv.is_volume_backed(s)]
        return {
            "service": service, "services": services, "negotiated": negotiated,
            "eligible": eligible,
            "listed": [{"name": srv.label(s), "status": s.get("status"),
                        "priority": priority.restart_priority(s).value} for s in eligible],
            "excluded": [f for f in findings if f.level == checks.ERROR],
            "local_disk_names": local,
            "source_findings": host_facts.source_findings(service),
            "target_findings": checks.check_targets_available(services, service["host"]),
            "available": evac_request.options_available(negotiated),
        }

    def get_form(self, form_class=None):
        self._form = super().get_form(form_class)
        return self._form

    def form_invalid(self, form):
        form.show_password_owed()  # shown again: the typed password is not in it
        return super().form_invalid(form)

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        loaded = self._load()
        kwargs.update(service=loaded["service"], services=loaded["services"],
                      negotiated=loaded["negotiated"])
        kwargs["local_disk_count"] = len(loaded["local_disk_names"])
        return kwargs

    def get_initial(self):
        loaded = self._load()
        return {"host": self.kwargs["host"],
                "reviewed": reviewed.sign(self.kwargs["host"], loaded["eligible"])}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(self._load())
        context["negotiated_text"] = ".".join(map(str, context["negotiated"]))
        context["submit_url"] = self.request.path
        return context

    def get_success_url(self):
        batch = getattr(getattr(self, "_form", None), "batch", None)
        if batch is None:
            return str(HOSTS_URL)
        return reverse("horizon:admin:evac_batches:detail", args=[batch.pk])


class EvacuateHostView(EvacuateView):
    form_class = evacuate_forms.EvacuateHostForm
    modal_id = "evac_evacuate_host_modal"
    page_title = _("Evacuate Host")
    submit_label = _("Evacuate all instances")

    def servers_to_review(self, host):
        return cloud.servers_on_host(self.request, host)


class EvacuateInstanceView(EvacuateView):
    form_class = evacuate_forms.EvacuateInstanceForm
    modal_id = "evac_evacuate_instance_modal"
    page_title = _("Evacuate Instance")
    submit_label = _("Evacuate")

    def servers_to_review(self, host):
        wanted = self.kwargs["instance_id"]
        found = [s for s in cloud.servers_on_host(self.request, host) if s["id"] == wanted]
        if not found:
            messages.error(self.request, _("Instance %(id)s is not on host %(host)s.")
                           % {"id": wanted, "host": host})
            raise exceptions.Http302(reverse("horizon:admin:evac_hosts:detail", args=[host]))
        return found
