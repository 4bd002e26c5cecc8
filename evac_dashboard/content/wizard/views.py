"""The wizard page and its capacity preview (JSON, refreshed as the selection changes)."""
from django import http
from django.template.loader import render_to_string
from django.urls import reverse_lazy
from django.utils.translation import gettext_lazy as _
from django.views import generic

from horizon import exceptions
from horizon import messages
from horizon import workflows

from evac_dashboard.operations import host_facts as wizard_facts
from evac_dashboard.content.wizard import workflows as wizard_workflows

HOSTS_URL = reverse_lazy("horizon:admin:evac_hosts:index")


def load_facts(request, host):
    try:
        facts = wizard_facts.load(request, host)
    except Exception:
        exceptions.handle(request, _("Unable to read host %s from Nova.") % host,
                          redirect=HOSTS_URL)
    if facts is None:
        messages.error(request, _("There is no compute host named %s.") % host)
        raise exceptions.Http302(HOSTS_URL)
    return facts


class WizardView(workflows.WorkflowView):
    workflow_class = wizard_workflows.EvacuateHostWizard
    template_name = "evac_dashboard/wizard/wizard.html"
    page_title = _("Evacuate Host")

    def get_initial(self):
        return {"facts": load_facts(self.request, self.kwargs["host"])}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["host"] = self.kwargs["host"]
        context["page_title"] = _("Evacuate host %s") % self.kwargs["host"]
        return context


class CapacityPreviewView(generic.View):
    """``GET ?instances=<id>&instances=<id>&mode=&target=`` → ``{"all_fit", "html"}``."""

    def get(self, request, host):
        try:
            facts = wizard_facts.load(request, host)
        except Exception as error:
            return http.JsonResponse({"error": "Nova or Placement could not be read: %s"
                                      % error}, status=502)
        if facts is None:
            return http.JsonResponse({"error": "There is no compute host named %s." % host},
                                     status=404)
        mode = request.GET.get("mode") or wizard_facts.SCHEDULER
        if mode not in (wizard_facts.SCHEDULER, wizard_facts.PLAN, wizard_facts.ONE_HOST):
            return http.JsonResponse({"error": "Unknown mode %r." % mode}, status=400)
        plan = facts.plan(request.GET.getlist("instances"), mode, request.GET.get("target"))
        html = render_to_string("evac_dashboard/wizard/_capacity.html",
                                {"facts": facts, "plan": plan}, request=request)
        return http.JsonResponse({"all_fit": plan.all_fit, "unplaced": len(plan.unplaced),
                                  "html": html})
