"""Checks run before any evacuate request is sent.

Each check returns a list of ``Finding``; an empty list means nothing to report. Errors are
conditions Nova would refuse (or that would strand servers); warnings need the operator's
judgement. ``preflight`` runs all of them in the order an operator fixes things.
"""
from dataclasses import dataclass

from evac_dashboard.rules import servers as srv
from evac_dashboard.rules import services as svc
from evac_dashboard.rules.i18n import gettext as _
from evac_dashboard.rules.i18n import ngettext

ERROR = "error"
WARNING = "warning"

IN_PROGRESS_MIGRATION_STATUSES = ("accepted", "pre-migrating")


@dataclass(frozen=True)
class Finding:
    """``items`` are display names; ``ids`` the matching server IDs or host names."""

    level: str
    code: str
    message: str
    items: tuple = ()
    ids: tuple = ()


def _for_servers(level, code, message, servers):
    return Finding(level, code, message,
                   tuple(srv.label(s) for s in servers), tuple(s.get("id") for s in servers))


def _names(servers):
    return ", ".join(srv.label(s) for s in servers)


def check_source_service(service, host=None, now=None,
                         service_down_time=svc.DEFAULT_SERVICE_DOWN_TIME):
    """The failed host's nova-compute must look down to Nova, ideally because it was forced down.

    ``now`` (aware datetime) only improves the message: when the service still looks up, it
    says by when it will look down at the latest if its heartbeat has really stopped.
    """
    host = host or (service or {}).get("host") or _("the source host")
    if service is None:
        return [Finding(ERROR, "source_service_missing",
                        _("No nova-compute service is recorded for %s. Nova cannot evacuate from "
                          "a host without one; check the host name (it is the compute service "
                          "host, not the hypervisor hostname).") % host, (host,), (host,))]
    if service.get("status") == "UNKNOWN":
        return [Finding(ERROR, "source_cell_unreachable",
                        _("The cell of %s cannot be reached, so its service state is unknown. "
                          "Restore access to the cell database and try again.") % host,
                        (host,), (host,))]
    if not svc.is_down(service):
        return [Finding(ERROR, "source_up", _still_up_message(service, host, now,
                                                                service_down_time),
                        (host,), (host,))]
    if not svc.is_forced_down(service):
        return [Finding(WARNING, "source_not_forced_down",
                        _("%s looks down only because its heartbeat stopped. Make sure it is "
                          "fenced (powered off or isolated): a host that only lost its control "
                          "network may still run its servers, which would then run twice. After "
                          "fencing, Force Down its compute service; that also keeps it from "
                          "taking new servers when it comes back.") % host, (host,), (host,))]
    return []


def _still_up_message(service, host, now, service_down_time):
    message = (_("Nova still sees nova-compute on %(host)s as up and would refuse to evacuate. "
                 "Fence the host (power it off or isolate it), then Force Down its compute "
                 "service. Or wait until its last heartbeat is older than service_down_time "
                 "(%(seconds)d s).") % {"host": host, "seconds": service_down_time})
    deadline = svc.looks_down_by(service, service_down_time)
    if deadline is not None and (now is None or deadline > now):
        message += (_(" If its heartbeat has stopped, it should look down by %s UTC.")
                    % deadline.strftime("%H:%M:%S"))
    elif deadline is not None:
        message += (_(" Nova counts it as up although its record is older than that, so it is "
                      "probably still sending heartbeats: check that nova-compute on %s is "
                      "really stopped.") % host)
    return message


def check_target_host(target_host, source_host, services):
    """A chosen target must differ from the source, exist, be up, enabled, not forced down.

    No target (the scheduler chooses) needs no check. Host names are compared exactly:
    ``compute1`` is not ``compute10``.
    """
    if not target_host:
        return []
    ids = (target_host,)
    if target_host == source_host:
        return [Finding(ERROR, "target_is_source",
                        _("The target host %s is the failed host itself. Choose another host or "
                          "let the scheduler choose.") % target_host, ids, ids)]
    service = svc.find_compute_service(services, target_host)
    if service is None:
        return [Finding(ERROR, "target_not_found",
                        _("No nova-compute service is named %s. Use the compute service host "
                          "name, not the hypervisor hostname.") % target_host, ids, ids)]
    problems = svc.target_problems(service)
    if problems:
        return [Finding(ERROR, "target_unusable",
                        _("The target host %(host)s is %(problems)s: the scheduler would reject "
                          "it, and a forced evacuation to it would get stuck. Choose another "
                          "host or let the scheduler choose.")
                        % {"host": target_host, "problems": svc.joined(problems)}, ids, ids)]
    return []


def check_targets_available(services, source_host):
    """An error when no other compute host could take a server: Nova would answer NoValidHost.

    The scheduler's ComputeFilter skips hosts that are down, forced down or disabled, so when
    every other host is one of these each evacuation fails (the server goes to ERROR on the
    failed host). ``services`` is the full ``/os-services`` list.
    """
    others = [s for s in services
              if s.get("binary", svc.COMPUTE_BINARY) == svc.COMPUTE_BINARY
              and s.get("host") != source_host]
    if any(not svc.target_problems(s) for s in others):
        return []
    names = tuple(s.get("host") for s in others)
    if not others:
        message = (_("There is no compute host other than %s, so Nova has nowhere to rebuild "
                     "its servers: every evacuation would fail with \"No valid host was "
                     "found\". Add or repair a compute host first.") % source_host)
    else:
        why = "; ".join(_("%(host)s is %(problems)s") % {
            "host": s.get("host"), "problems": svc.joined(svc.target_problems(s))}
            for s in others)
        message = (_("No other compute host can take the servers of %(host)s (%(why)s). Nova "
                     "would fail every evacuation with \"No valid host was found\" and leave "
                     "the servers in ERROR on the failed host. Enable a host, or bring one back "
                     "up and unset its Force Down, then evacuate.")
                   % {"host": source_host, "why": why})
    return [Finding(ERROR, "no_target_host", message, names, names)]


def check_instance_states(servers, source_host=None):
    """Only launched ACTIVE/SHUTOFF/ERROR servers still on the failed host can be evacuated."""
    findings = []
    if source_host:
        moved = [s for s in servers if srv.host(s) and srv.host(s) != source_host]
        if moved:
            findings.append(_for_servers(
                ERROR, "not_on_source",
                _("No longer on %(host)s (already evacuated or moved?): %(servers)s. Refresh the "
                  "list.") % {"host": source_host, "servers": _names(moved)}, moved))
    wrong_state = [s for s in servers
                   if srv.vm_state(s) and srv.vm_state(s) not in srv.EVACUABLE_VM_STATES]
    if wrong_state:
        states = ", ".join("%s (%s)" % (srv.label(s), srv.vm_state(s)) for s in wrong_state)
        findings.append(_for_servers(
            ERROR, "state_not_evacuable",
            _("Nova only evacuates servers that are ACTIVE, SHUTOFF or ERROR. Not evacuable: %s. "
              "If their host is really dead, reset their state to error, then evacuate them.")
            % states, wrong_state))
    never_launched = [s for s in servers if srv.has_launched(s) is False]
    if never_launched:
        findings.append(_for_servers(
            ERROR, "never_launched",
            _("Never finished booting, so Nova has nothing to rebuild: %s. Delete them or create "
              "them again.") % _names(never_launched), never_launched))
    busy = [s for s in servers
            if srv.task_state(s) and srv.task_state(s) not in srv.REBUILD_TASK_STATES]
    if busy:
        tasks = ", ".join("%s (%s)" % (srv.label(s), srv.task_state(s)) for s in busy)
        findings.append(_for_servers(
            WARNING, "task_in_progress",
            _("A task is still recorded for %s. Nova releases before Zed refuse to evacuate "
              "until it clears (reset the state to error); newer ones evacuate anyway.") % tasks,
            busy))
    return findings


def check_in_progress(servers, migrations=()):
    """Servers already being rebuilt, or with an evacuation record still in flight."""
    in_flight = {m.get("instance_uuid") for m in migrations
                 if m.get("status") in IN_PROGRESS_MIGRATION_STATUSES
                 and m.get("migration_type", "evacuation") == "evacuation"}
    busy = [s for s in servers if srv.is_rebuilding(s) or s.get("id") in in_flight]
    if not busy:
        return []
    return [_for_servers(
        ERROR, "already_evacuating",
        _("An evacuation or rebuild is already under way for: %s. Wait for it to finish. If it is "
          "stuck (for example the target host died), reset the server's state to error and "
          "evacuate it again.") % _names(busy), busy)]


def check_root_disks(servers):
    """Warn about servers whose root disk is local: rebuilt from the image unless shared."""
    local = [s for s in servers if not srv.is_volume_backed(s)]
    if not local:
        return []
    kept = len(servers) - len(local)
    message = (ngettext(
        "%(count)d server boots from a local disk: %(servers)s. Unless the instance storage "
        "is shared with the target host, Nova rebuilds it from its image and the data on "
        "that disk is lost.",
        "%(count)d servers boot from a local disk: %(servers)s. Unless the instance storage "
        "is shared with the target host, Nova rebuilds them from their image and the data on "
        "that disk is lost.", len(local)) % {"count": len(local), "servers": _names(local)})
    if kept:
        message += ngettext(" %d server boots from a volume and keeps its data.",
                            " %d servers boot from a volume and keep their data.", kept) % kept
    return [_for_servers(WARNING, "local_root_disk", message, local)]


def preflight(source_service, servers, source_host=None, target_host=None, services=(),
              migrations=(), now=None, service_down_time=svc.DEFAULT_SERVICE_DOWN_TIME):
    """All checks for one evacuation batch, in the order an operator would fix things.

    Without ``services`` (not read) nothing is said about the other hosts.
    """
    source_host = source_host or (source_service or {}).get("host")
    targets = (check_targets_available(services, source_host)
               if services and not target_host else [])
    return (check_source_service(source_service, source_host, now, service_down_time)
            + check_target_host(target_host, source_host, services) + targets
            + check_instance_states(servers, source_host)
            + check_in_progress(servers, migrations)
            + check_root_disks(servers))


def has_errors(findings):
    return any(f.level == ERROR for f in findings)
