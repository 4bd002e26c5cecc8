"""How host and instance facts read in tables: text first, colour only as a second cue."""
from django.utils import formats
from django.utils.html import format_html
from django.utils.translation import gettext as _

from evac_dashboard.operations import host_facts
from evac_dashboard.rules import priority


def _icon_text(kind, icon, text, title=""):
    return format_html(
        '<span class="evac-state evac-state-{}" title="{}">'
        '<span class="fa fa-{}" aria-hidden="true"></span> {}</span>',
        kind, title, icon, text)


def host_state(host):
    if host.forced_down:
        return _icon_text("forced", "power-off", _("Down (forced)"),
                          _("Forced down by an admin: treated as fenced."))
    if host.is_down:
        return _icon_text("down", "exclamation-triangle", _("Down"),
                          _("No heartbeat within service_down_time (%d s).")
                          % host_facts.service_down_time())
    return _icon_text("up", "check", _("Up"))


def forced_down(host):
    return _("Yes") if host.forced_down else _("No")


def service_status(host):
    if host.status == "enabled":
        return _("Enabled")
    label = _("Disabled") if host.status == "disabled" else (host.status or _("Unknown"))
    if host.disabled_reason:
        return format_html('{} <span class="evac-reason">({})</span>', label,
                           host.disabled_reason)
    return label


def age(seconds):
    """``42 s``, ``5 min``, ``3 h 10 min``, ``2 d 4 h``."""
    if seconds is None:
        return None
    seconds = max(0, int(seconds))
    if seconds < 120:
        return _("%d s") % seconds
    minutes = seconds // 60
    if minutes < 60:
        return _("%d min") % minutes
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return _("%(h)d h %(m)d min") % {"h": hours, "m": minutes}
    days, hours = divmod(hours, 24)
    return _("%(d)d d %(h)d h") % {"d": days, "h": hours}


RECORD_HELP = _("When Nova last wrote this service record: the periodic report of "
                "nova-compute (its heartbeat), or an admin change: Force Down, Disable and "
                "Enable bump it too, so on a forced-down or disabled host it is not a "
                "heartbeat.")


def record_age(host):
    """Age of ``updated_at``, flagged where it may be an admin change rather than a report."""
    text = age(host.seconds_since_update)
    if text is None:
        return _("never")
    stamp = host.updated_at.strftime("%Y-%m-%d %H:%M:%S UTC")
    if host.record_may_be_admin_change:
        return format_html('<span title="{} – {}">{} <span class="evac-reason">({})</span></span>',
                           stamp, RECORD_HELP, _("%s ago") % text,
                           _("may be an admin change"))
    return format_html('<span title="{}">{}</span>', stamp, _("%s ago") % text)


def instance_count(host):
    return "-" if host.instance_count is None else host.instance_count


def _use(used, total, unit=""):
    if used is None or total is None:
        return format_html('<span title="{}">-</span>',
                           _("Not reported by Nova at this microversion"))
    # Numbers in the page's locale (decimal mark), as Django's templates show them.
    return "%s / %s%s" % (formats.number_format(used), formats.number_format(total), unit)


def vcpu_use(host):
    return _use(host.vcpus_used, host.vcpus)


def memory_use(host):
    if host.memory_mb is None or host.memory_mb_used is None:
        return _use(None, None)
    return _use(round(host.memory_mb_used / 1024, 1), round(host.memory_mb / 1024, 1), " GiB")


def task_state(instance):
    return instance.task_state or "-"


def flavor(instance):
    if instance.vcpus is None:
        return instance.flavor_name or "-"
    return format_html('{} <span class="evac-reason">({} vCPU, {} MiB)</span>',
                       instance.flavor_name, instance.vcpus, instance.ram_mb)


def root_disk(instance):
    if instance.root_disk == "volume":
        return _icon_text("volume", "database", _("Volume"),
                          _("Boot from volume: the disk survives evacuation."))
    return _icon_text("local", "exclamation-circle", _("Local (image)"),
                      _("Rebuilt from its image on evacuation: local data is lost "
                        "unless instance storage is shared."))


def restart_priority(instance):
    found = priority.restart_priority({"metadata": instance.metadata})
    if not found.valid:
        return format_html('<span class="evac-state-local" title="{}">{}</span>',
                           found.problem, found.raw)
    return found.value if found.raw is not None else "-"
