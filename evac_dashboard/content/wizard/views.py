"""The wizard page and its capacity preview (JSON, refreshed as the selection changes)."""
from django import http
from django.template import response as template_response
from django.template.loader import render_to_string
from django.urls import reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views import generic

from horizon import exceptions
from horizon import messages
from horizon import workflows

from evac_dashboard.operations import host_facts as wizard_facts
from evac_dashboard.content import modals
from evac_dashboard.content.evacuate import password as secret
from evac_dashboard.content.wizard import workflows as wizard_workflows

HOSTS_URL = reverse_lazy("horizon:admin:evac_hosts:index")
MAX_HOST_LENGTH = 255  # Nova's services.host column: a longer name is no host of Nova's


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


def is_safe_next(request, url):
    """Only a path of this site ('/admin/...'): never another site, nor a bare word
    Horizon's redirect would take for a view name."""
    return (isinstance(url, str) and url.startswith("/")
            and url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()},
                                                require_https=request.is_secure()))


def drop_unsafe_next(request, name):
    """Remove a ``next`` field that is not a same-site path, so the workflow's own
    success URL is used."""
    if name in request.POST and not is_safe_next(request, request.POST.get(name)):
        post = request.POST.copy()
        del post[name]
        request.POST = post


@secret.protect_view
class WizardView(modals.PlainModalMixin, workflows.WorkflowView):
    """The wizard; its password fields stay out of error reports and caches
    (``secret.protect_view``)."""

    workflow_class = wizard_workflows.EvacuateHostWizard
    template_name = "evac_dashboard/wizard/wizard.html"
    page_title = _("Evacuate Host")

    def get_initial(self):
        return {"facts": load_facts(self.request, self.kwargs["host"])}

    @secret.secret_variables
    def get_workflow(self):
        # On POST, building the workflow validates every step, the password's included.
        return super().get_workflow()

    def post(self, request, *args, **kwargs):
        drop_unsafe_next(request, self.workflow_class.redirect_param_name)
        response = super().post(request, *args, **kwargs)
        if isinstance(response, template_response.TemplateResponse):
            # The whole wizard shown again after a failed submit, without the password.
            options = response.context_data["workflow"].get_step(
                wizard_workflows.OptionsAction.slug).action
            if options.password_owed_if_shown:
                options.show_password_owed()
                messages.warning(request, _(
                    "The admin password you typed is not kept when the wizard is shown "
                    "again: enter it again on the Options step."))
        return response

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["host"] = self.kwargs["host"]
        context["page_title"] = _("Evacuate host %s") % self.kwargs["host"]
        return context


class CapacityPreviewView(generic.View):
    """``GET ?instances=<id>&instances=<id>&mode=&target=`` → ``{"all_fit", "html"}``."""

    def get(self, request, host):
        if len(host) > MAX_HOST_LENGTH:
            return http.JsonResponse({"error": str(_("There is no compute host named %s.")
                                                   % (host[:40] + "..."))}, status=404)
        try:
            facts = wizard_facts.load(request, host)
        except Exception as error:
            return http.JsonResponse({"error": str(_("Nova or Placement could not be read: "
                                                   "%s") % error)}, status=502)
        if facts is None:
            return http.JsonResponse({"error": str(_("There is no compute host named %s.")
                                                   % host)}, status=404)
        mode = request.GET.get("mode") or wizard_facts.SCHEDULER
        if mode not in (wizard_facts.SCHEDULER, wizard_facts.PLAN, wizard_facts.ONE_HOST):
            return http.JsonResponse({"error": str(_("Unknown mode %r.") % mode)}, status=400)
        plan = facts.plan(request.GET.getlist("instances"), mode, request.GET.get("target"))
        html = render_to_string("evac_dashboard/wizard/_capacity.html",
                                {"facts": facts, "plan": plan}, request=request)
        return http.JsonResponse({"all_fit": plan.all_fit, "unplaced": len(plan.unplaced),
                                  "html": html})
