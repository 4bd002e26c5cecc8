from django.urls import re_path

from evac_dashboard.content.batches import views

BATCH = r"(?P<batch_id>[0-9a-f-]{36})"

urlpatterns = [
    re_path(r"^$", views.IndexView.as_view(), name="index"),
    re_path(r"^%s/$" % BATCH, views.DetailView.as_view(), name="detail"),
]
