from django.urls import re_path

from evac_dashboard.content.database import needs_database
from evac_dashboard.content import unrouted

from evac_dashboard.content.evacuate import views as evacuate_views
from evac_dashboard.content.hosts import fence_views
from evac_dashboard.content.hosts import views
from evac_dashboard.content.wizard import views as wizard_views

HOST = r"(?P<host>[^/]+)"

urlpatterns = [
    re_path(r"^$", views.IndexView.as_view(), name="index"),
    re_path(r"^power-states/$", fence_views.PowerStatesView.as_view(), name="power_states"),
    re_path(r"^%s/$" % HOST, views.DetailView.as_view(), name="detail"),
    re_path(r"^%s/force-down/$" % HOST, needs_database(views.ForceDownView.as_view()), name="force_down"),
    re_path(r"^%s/unset-force-down/$" % HOST, needs_database(views.UnsetForceDownView.as_view()),
            name="unset_force_down"),
    re_path(r"^%s/fence/$" % HOST, needs_database(fence_views.FenceView.as_view()), name="fence"),
    re_path(r"^%s/fence-evacuate/$" % HOST, needs_database(fence_views.FenceAndEvacuateView.as_view()),
            name="fence_evacuate"),
    re_path(r"^%s/power-on/$" % HOST, needs_database(fence_views.PowerOnView.as_view()), name="power_on"),
    re_path(r"^%s/disable/$" % HOST, needs_database(views.DisableServiceView.as_view()), name="disable"),
    re_path(r"^%s/enable/$" % HOST, needs_database(views.EnableServiceView.as_view()), name="enable"),
    re_path(r"^%s/evacuate/$" % HOST, needs_database(evacuate_views.EvacuateHostView.as_view()),
            name="evacuate_host"),
    re_path(r"^%s/instances/(?P<instance_id>[^/]+)/evacuate/$" % HOST,
            needs_database(evacuate_views.EvacuateInstanceView.as_view()), name="evacuate_instance"),
    re_path(r"^%s/wizard/$" % HOST, needs_database(wizard_views.WizardView.as_view()), name="wizard"),
    re_path(r"^%s/wizard/capacity/$" % HOST, needs_database(wizard_views.CapacityPreviewView.as_view()),
            name="wizard_capacity"),
    unrouted.catch_all(),  # last: any other path is the plugin's 404, never Django's 500
]
