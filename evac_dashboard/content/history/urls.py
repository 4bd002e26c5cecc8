from django.urls import re_path

from evac_dashboard.content.database import needs_database
from evac_dashboard.content import unrouted

from evac_dashboard.content.history import views

urlpatterns = [
    re_path(r"^$", needs_database(views.IndexView.as_view()), name="index"),
    re_path(r"^export\.csv$", needs_database(views.ExportView.as_view()), name="export"),
    re_path(r"^(?P<record_id>[0-9]+)/$", needs_database(views.DetailView.as_view()), name="detail"),
    unrouted.catch_all(),  # last: any other path is the plugin's 404, never Django's 500
]
