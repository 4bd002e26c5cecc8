from django.urls import re_path

from evac_dashboard.content.hosts import views

HOST = r"(?P<host>[^/]+)"

urlpatterns = [
    re_path(r"^$", views.IndexView.as_view(), name="index"),
    re_path(r"^%s/$" % HOST, views.DetailView.as_view(), name="detail"),
]
