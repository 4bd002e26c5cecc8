from django.urls import re_path

from evac_dashboard.content.database import needs_database
from evac_dashboard.content import unrouted

from evac_dashboard.content.batches import timeline
from evac_dashboard.content.batches import views

# Any id reaches the views, which answer a malformed one with a clear 404 (JSON for the
# JSON endpoint and the actions) instead of a routing miss.
BATCH = r"(?P<batch_id>[^/]+)"

urlpatterns = [
    re_path(r"^$", needs_database(views.IndexView.as_view()), name="index"),
    re_path(r"^%s/$" % BATCH, needs_database(views.DetailView.as_view()), name="detail"),
    re_path(r"^%s/progress\.json$" % BATCH, needs_database(views.ProgressView.as_view()), name="progress"),
    re_path(r"^%s/retry/$" % BATCH, needs_database(views.RetryView.as_view()), name="retry"),
    re_path(r"^%s/cancel/$" % BATCH, needs_database(views.CancelView.as_view()), name="cancel"),
    re_path(r"^%s/resume/$" % BATCH, needs_database(views.ResumeView.as_view()), name="resume"),
    re_path(r"^%s/timeline/$" % BATCH,
            needs_database(timeline.TimelineFragmentView.as_view()), name="timeline"),
    re_path(r"^%s/timeline\.csv$" % BATCH, needs_database(timeline.TimelineCsvView.as_view()),
            name="timeline_csv"),
    re_path(r"^%s/timeline\.json$" % BATCH,
            needs_database(timeline.TimelineJsonView.as_view()), name="timeline_json"),
    unrouted.catch_all(),  # last: any other path is the plugin's 404, never Django's 500
]
