from django.urls import re_path

from evac_dashboard.content.history import views

urlpatterns = [
    re_path(r"^$", views.IndexView.as_view(), name="index"),
    re_path(r"^export\.csv$", views.ExportView.as_view(), name="export"),
    re_path(r"^(?P<record_id>[0-9]+)/$", views.DetailView.as_view(), name="detail"),
]
