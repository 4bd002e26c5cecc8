"""A batch's recovery timeline: the chart on the progress page and its CSV and JSON exports.

The facts and phases are ``operations.timeline`` / ``rules.timeline`` (database only, no
Nova call). The chart is plain SVG drawn by the server (``_timeline.html``, through the
``evac_timeline`` template tag): no script, colours as SVG attributes, every bar with a
text title, and the total and where it went written out in words.

While the recovery goes on, the progress page redraws the chart from ``<batch>/timeline/``
(the same template alone) when its polls see changes, at most every 10 s
(``evac.progress.js``), and once when the batch turns final.

Exports: ``<batch>/timeline.csv`` (one row per phase and per moment; every cell defused
against spreadsheet formulas by the history export's ``safe_cell``) and
``<batch>/timeline.json`` (``<``, ``>`` and ``&`` written as ``\\u003c``... so no name a
tenant chose can be read as markup). Both sit behind the panel's permissions.
"""
import csv
import io
import json

from django import http
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import formats
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views import generic

from evac_dashboard.content.batches import presenters
from evac_dashboard.content.batches.views import get_batch
from evac_dashboard.content.history.export import safe_cell
from evac_dashboard.operations import timeline as timeline_reads
from evac_dashboard.rules import timeline as rules

PHASE_LABELS = {
    rules.SILENT: _("no heartbeat, Nova still showed it up"),
    rules.SEEN_DOWN: _("Nova showed it down, nothing done yet"),
    rules.FENCING: _("fencing"),
    rules.FORCING_DOWN: _("forcing down"),
    rules.DISABLING: _("disabling the service"),
    rules.QUEUED: _("waiting to be sent"),
    rules.SENDING: _("sending"),
    rules.ANSWER_LOST: _("answer lost, asking Nova"),
    rules.REBUILDING: _("rebuild in Nova"),
    rules.WAITING: _("between steps (nothing recorded)"),
}
PHASE_COLOURS = {
    rules.SILENT: "#e8b4ae",
    rules.SEEN_DOWN: "#d9776b",
    rules.FENCING: "#5b3f8c",
    rules.FORCING_DOWN: "#c0392b",
    rules.DISABLING: "#8a6d3b",
    rules.QUEUED: "#b8b8b8",
    rules.SENDING: "#2f6f9f",
    rules.ANSWER_LOST: "#c9a227",
    rules.REBUILDING: "#8a5a00",
}
MARK_LABELS = {
    rules.LAST_HEARTBEAT: _("last heartbeat from nova-compute"),
    rules.SEEN_DOWN_MARK: _("Nova shows the service down"),
    "created": _("batch created"),
    "retry": _("retry sent"),
    "resume": _("submission resumed"),
    "takeover": _("taken over by another dashboard process"),
    "cancel": _("waiting instances cancelled"),
    "finished": _("submission finished"),
    rules.END_DONE: _("done"),
    rules.END_FAILED: _("failed"),
    rules.END_REFUSED: _("refused by Nova"),
    rules.END_CANCELLED: _("cancelled"),
}
END_SYMBOLS = {rules.END_DONE: ("\u2713", "#2d6a2d"), rules.END_FAILED: ("\u2717", "#a12a1f"),
               rules.END_REFUSED: ("\u2717", "#a12a1f"),
               rules.END_CANCELLED: ("\u2013", "#555555")}

# Geometry of the chart (SVG user units; the SVG scales to the page's width).
WIDTH = 1000
LABEL_RIGHT = 220
CHART_LEFT = 232
CHART_RIGHT = 975
AXIS_Y = 24
LANE_TOP = 34
LANE_HEIGHT = 22
BAR_HEIGHT = 14
LABEL_CHARS = 30
MAX_INSTANCE_LANES = 50


def _iso(when):
    return when.strftime("%Y-%m-%dT%H:%M:%SZ") if when is not None else ""


def _shown(when):
    return when.strftime("%Y-%m-%d %H:%M:%S")


def _precise(when):
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ") if when is not None else ""


def duration(seconds):
    """``0.4 s``, ``42 s``, ``3 min``, ``3 min 5 s``, ``2 h 10 min``, ``3 d 4 h``."""
    seconds = max(0.0, float(seconds or 0))
    if seconds < 10 and round(seconds, 1) != round(seconds):
        return gettext("%s s") % formats.number_format(round(seconds, 1), 1)
    whole = int(round(seconds))
    if whole < 120:
        return gettext("%d s") % whole
    minutes, secs = divmod(whole, 60)
    if minutes < 60 and not secs:
        return gettext("%d min") % minutes
    if minutes < 60:
        return gettext("%(minutes)d min %(seconds)d s") % {"minutes": minutes,
                                                           "seconds": secs}
    hours, minutes = divmod(minutes, 60)
    if hours < 48 and not minutes:
        return gettext("%d h") % hours
    if hours < 48:
        return gettext("%(hours)d h %(minutes)d min") % {"hours": hours, "minutes": minutes}
    days, hours = divmod(hours, 24)
    return gettext("%(days)d d %(hours)d h") % {"days": days, "hours": hours}


def phase_label(phase):
    return str(PHASE_LABELS.get(phase, phase))


def mark_label(kind):
    return str(MARK_LABELS.get(kind, kind))


def where_it_went(timeline):
    """``fencing 8 s, sending 3 s, rebuild in Nova 25 s``."""
    return gettext(", ").join(
        gettext("%(phase)s %(duration)s") % {"phase": phase_label(p), "duration": duration(s)}
        for p, s in timeline.breakdown)


def _short(name):
    return name if len(name) <= LABEL_CHARS else name[:LABEL_CHARS - 1] + "\u2026"


# ------------------------------------------------------------------------------- chart

def _lane_label(lane):
    if lane.kind == rules.LANE_HOST:
        return gettext("Host %s") % lane.name
    if lane.kind == rules.LANE_BATCH:
        return gettext("Batch")
    return lane.name


def _segment(timeline, lane_name, segment, x, y):
    left = x(segment.start)
    title = gettext("%(lane)s: %(phase)s for %(duration)s, from %(start)s to %(end)s UTC") % {
        "lane": lane_name, "phase": phase_label(segment.phase),
        "duration": duration(segment.seconds), "start": _iso(segment.start),
        "end": _iso(segment.end)}
    if segment.running:
        title = gettext("%s (still going on)") % title
    return {"x": round(left, 1), "y": y + (LANE_HEIGHT - BAR_HEIGHT) / 2,
            "width": round(max(1.5, x(segment.end) - left), 1), "height": BAR_HEIGHT,
            "fill": PHASE_COLOURS.get(segment.phase, "#777777"), "running": segment.running,
            "phase": segment.phase, "title": title}


def _mark(lane_name, mark, x, y):
    label = mark_label(mark.kind)
    title = gettext("%(lane)s: %(what)s at %(time)s UTC") % {
        "lane": lane_name, "what": label, "time": _iso(mark.at)}
    if mark.detail and mark.kind in ("retry", "resume", "cancel"):
        title = gettext("%(what)s (by %(user)s)") % {"what": title, "user": mark.detail}
    symbol, fill = END_SYMBOLS.get(mark.kind, ("", "#333333"))
    at = round(x(mark.at), 1)
    return {"x": at, "y1": y + 2, "y2": y + LANE_HEIGHT - 2, "text_x": round(at + 3, 1),
            "text_y": y + LANE_HEIGHT - 6, "symbol": symbol, "fill": fill, "title": title,
            "kind": mark.kind}


def chart(timeline, csv_url="", json_url=""):
    """What ``_timeline.html`` draws: positions in SVG units, words, and the totals."""
    span = max(timeline.total_seconds, 1.0)

    def x(when):
        offset = rules.offset_seconds(timeline, when)
        return CHART_LEFT + (CHART_RIGHT - CHART_LEFT) * min(offset, span) / span

    instances = [lane for lane in timeline.lanes if lane.kind == rules.LANE_INSTANCE]
    shown = [lane for lane in timeline.lanes if lane.kind != rules.LANE_INSTANCE]
    shown += instances[:MAX_INSTANCE_LANES]
    lanes = []
    for index, lane in enumerate(shown):
        y = LANE_TOP + index * LANE_HEIGHT
        name = _lane_label(lane)
        stages = ""
        if lane.stages:
            stages = gettext("stages seen: %s") % gettext(", ").join(
                presenters.stage_label(code) for code in lane.stages)
        lanes.append({
            "kind": lane.kind, "label": _short(name), "name": name, "y": y,
            "text_y": y + LANE_HEIGHT / 2 + 4, "stripe": index % 2 == 1,
            "height": LANE_HEIGHT,
            "stages": stages,
            "segments": [_segment(timeline, name, s, x, y) for s in lane.segments],
            "marks": [_mark(name, m, x, y) for m in lane.marks],
        })
    height = LANE_TOP + len(shown) * LANE_HEIGHT + 8
    axis = [{"x": round(x_at, 1), "label": duration(t)} for t in rules.ticks(span)
            for x_at in [CHART_LEFT + (CHART_RIGHT - CHART_LEFT) * t / span]]
    used = {s["phase"] for lane in lanes for s in lane["segments"]}
    return {
        "width": WIDTH, "height": height, "label_right": LABEL_RIGHT,
        "chart_left": CHART_LEFT, "chart_right": CHART_RIGHT, "axis_y": AXIS_Y,
        "lane_top": LANE_TOP, "axis_label_y": AXIS_Y - 8, "axis": axis, "lanes": lanes,
        "legend": [{"fill": PHASE_COLOURS[p], "label": phase_label(p)}
                   for p in rules.PHASES if p in used and p in PHASE_COLOURS],
        "total": duration(timeline.total_seconds), "final": timeline.final,
        "where": where_it_went(timeline), "start": _shown(timeline.start),
        "end": _shown(timeline.end), "instances": len(instances),
        "shown_instances": min(len(instances), MAX_INSTANCE_LANES),
        "truncated": len(instances) > MAX_INSTANCE_LANES,
        "csv_url": csv_url, "json_url": json_url,
    }


def urls(batch_id):
    return (reverse("horizon:admin:evac_batches:timeline_csv", args=[batch_id]),
            reverse("horizon:admin:evac_batches:timeline_json", args=[batch_id]))


def chart_for(batch):
    """The chart context of ``batch`` (an ``EvacuationBatch``)."""
    csv_url, json_url = urls(batch.pk)
    return chart(timeline_reads.timeline(batch), csv_url, json_url)


# ----------------------------------------------------------------------------- exports

def document(batch, timeline):
    """The JSON export: every lane, phase and moment, with seconds and UTC times."""
    return {
        "batch": {"id": str(batch.pk), "source_host": batch.source_host,
                  "state": batch.state, "kind": batch.kind,
                  "created_at": _precise(batch.created_at)},
        "start": _precise(timeline.start), "end": _precise(timeline.end),
        "final": timeline.final, "total_seconds": round(timeline.total_seconds, 3),
        "breakdown": [{"phase": p, "label": phase_label(p), "seconds": round(s, 3)}
                      for p, s in timeline.breakdown],
        "lanes": [{
            "kind": lane.kind, "name": lane.name, "instance_id": lane.instance_id,
            "item_id": lane.item_id, "attempt": lane.attempt, "end": lane.end,
            "host": lane.host, "stages": list(lane.stages),
            "segments": [{"phase": s.phase, "label": phase_label(s.phase),
                          "start": _precise(s.start), "end": _precise(s.end),
                          "seconds": round(s.seconds, 3), "running": s.running,
                          "detail": s.detail} for s in lane.segments],
            "marks": [{"kind": m.kind, "label": mark_label(m.kind), "at": _precise(m.at),
                       "detail": m.detail} for m in lane.marks],
        } for lane in timeline.lanes],
    }


CSV_COLUMNS = ("lane", "name", "instance_id", "attempt", "phase", "start_utc", "end_utc",
               "seconds", "running", "detail")


def csv_rows(timeline):
    """Lists of cells (header first): every phase and moment, then the breakdown and
    the total."""
    yield list(CSV_COLUMNS)
    for lane in timeline.lanes:
        base = [lane.kind, lane.name, lane.instance_id, lane.attempt]
        for s in lane.segments:
            yield base + [s.phase, _precise(s.start), _precise(s.end),
                          "%.3f" % s.seconds, "yes" if s.running else "no", s.detail]
        for m in lane.marks:
            yield base + [m.kind, _precise(m.at), _precise(m.at), "0.000", "no", m.detail]
    for phase, seconds in timeline.breakdown:
        yield ["breakdown", "", "", "", phase, "", "", "%.3f" % seconds, "", ""]
    yield ["total", "", "", "", "final" if timeline.final else "so_far",
           _precise(timeline.start), _precise(timeline.end),
           "%.3f" % timeline.total_seconds, "", ""]


def csv_text(timeline):
    out = io.StringIO()
    writer = csv.writer(out)
    for row in csv_rows(timeline):
        writer.writerow([safe_cell(cell) for cell in row])
    return out.getvalue()


def _filename(batch, extension):
    return 'attachment; filename="evacuation-timeline-%s.%s"' % (batch.pk, extension)


class TimelineCsvView(generic.View):
    """``GET <batch>/timeline.csv``."""

    def get(self, request, batch_id):
        batch = get_batch(batch_id)
        if batch is None:
            raise http.Http404("No such evacuation")
        response = http.HttpResponse(csv_text(timeline_reads.timeline(batch)),
                                     content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = _filename(batch, "csv")
        response["X-Content-Type-Options"] = "nosniff"
        return response


def _escaped_json(value):
    return (json.dumps(value, ensure_ascii=False, indent=1).replace("&", "\\u0026")
            .replace("<", "\\u003c").replace(">", "\\u003e"))


class TimelineJsonView(generic.View):
    """``GET <batch>/timeline.json`` (``document``)."""

    def get(self, request, batch_id):
        batch = get_batch(batch_id)
        if batch is None:
            return http.JsonResponse({"error": gettext("No such evacuation batch."),
                                      "code": "not_found"}, status=404)
        body = _escaped_json(document(batch, timeline_reads.timeline(batch)))
        response = http.HttpResponse(body, content_type="application/json; charset=utf-8")
        response["Content-Disposition"] = _filename(batch, "json")
        response["X-Content-Type-Options"] = "nosniff"
        return response


class TimelineFragmentView(generic.View):
    """``GET <batch>/timeline/``: the chart alone, for the progress page's redraws."""

    def get(self, request, batch_id):
        batch = get_batch(batch_id)
        if batch is None:
            raise http.Http404("No such evacuation")
        response = http.HttpResponse(render_to_string(
            "evac_dashboard/batches/_timeline.html", {"batch": batch}, request=request))
        response["Cache-Control"] = "no-store"
        return response
