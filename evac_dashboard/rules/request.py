"""The evacuate request to send for the operator's options and the negotiated microversion.

The body rules follow Nova's JSON schema per microversion (``onSharedStorage`` only up to
2.13, ``force`` only 2.29-2.67, ...). The version numbers come from the feature table in
``evac_dashboard.rules.microversions``; this module only asks it questions.

Power state: from the microversion where ``evacuate_leaves_stopped`` starts, Nova leaves
evacuated servers stopped. "Servers come back running" on such a cloud is therefore done by
sending the highest microversion *below* that one, which is the previous behaviour (servers
return to their previous power state) and also avoids the new microversion's
"all computes must be recent" check.
"""
from dataclasses import dataclass, field
from typing import NamedTuple

from evac_dashboard.rules import microversions
from evac_dashboard.rules.i18n import gettext as _
from evac_dashboard.rules.i18n import gettext_noop


class OptionError(ValueError):
    """The chosen options cannot be sent at this microversion; the message says why."""


@dataclass(frozen=True)
class EvacuateOptions:
    """What the operator chose in the evacuate form."""

    target_host: str | None = None
    # Never in a repr: a repr reaches logs and Django's error reports.
    admin_password: str | None = field(default=None, repr=False)
    on_shared_storage: bool | None = None
    force: bool = False
    keep_running: bool = True


class EvacuateRequest(NamedTuple):
    """``microversion`` to send (``"2.94"``), the ``body`` inside ``{"evacuate": ...}``, and
    ``notes`` worth showing to the operator before or after sending."""

    microversion: str
    body: dict
    notes: tuple

    def action(self):
        """The complete action body for ``POST /servers/{id}/action``."""
        return {"evacuate": dict(self.body)}


@dataclass(frozen=True)
class AvailableOptions:
    """Which evacuate form fields mean something at a negotiated microversion."""

    shared_storage_flag: bool
    force: bool
    power_state_choice: bool
    password_returned: bool
    target_host_checked: bool  # a named target host goes through the scheduler (unless forced)


def options_available(negotiated_version):
    version = microversions.parse(negotiated_version)
    return AvailableOptions(
        shared_storage_flag=microversions.supports("evacuate_shared_storage_flag", version),
        force=microversions.supports("evacuate_force", version),
        power_state_choice=microversions.supports("evacuate_leaves_stopped", version),
        password_returned=microversions.supports("evacuate_returns_password", version),
        target_host_checked=microversions.supports("scheduler_checks_target_host", version),
    )


def build_request(options, negotiated_version):
    """Return an ``EvacuateRequest`` or raise ``OptionError``.

    ``negotiated_version`` is the highest microversion this dashboard uses with the cloud
    (see ``microversions.negotiate``); the request may go out at a lower one.
    """
    notes = []
    version = _version_for_power_state(options.keep_running,
                                       microversions.parse(negotiated_version), notes)
    host = (options.target_host or "").strip() or None
    password = options.admin_password or None

    body = {}
    if host:
        body["host"] = host
    _add_shared_storage(body, options.on_shared_storage, password, version, notes)
    if password:
        body["adminPass"] = password
    _add_force(body, options.force, host, version, notes)
    _add_password_note(body, version, notes)
    return EvacuateRequest(microversions.to_string(version), body, tuple(notes))


_NOVACLIENT_ARGUMENTS = {
    "host": "host",
    "onSharedStorage": "on_shared_storage",
    "adminPass": "password",
    "force": "force",
}


def novaclient_kwargs(request):
    """Keyword arguments for ``client.servers.evacuate(server, **kwargs)``.

    The client must be created for ``request.microversion``; novaclient picks its
    ``evacuate`` signature by that version (2.0-2.13 host/on_shared_storage/password,
    2.14-2.28 host/password, 2.29-2.67 host/password/force, 2.68+ host/password), and every
    key in the body exists in that signature. ``on_shared_storage`` is always passed below
    2.14 because novaclient would otherwise default it to True.
    """
    return {_NOVACLIENT_ARGUMENTS[key]: value for key, value in request.body.items()}


# Form fields that exist only at some microversions, and the feature that gives each.
_OPTION_FIELDS = (("on_shared_storage", "shared_storage_flag",
                   gettext_noop("Declaring shared instance storage")),
                  ("force", "force", gettext_noop("Forcing the target host")),
                  ("power_state", "power_state_choice",
                   gettext_noop("Choosing the power state after evacuation")))


def options_not_offered(posted, negotiated_version):
    """Messages for options present in ``posted`` (a form's raw data) that the negotiated
    microversion does not have: such an option is refused, never silently dropped."""
    available = options_available(negotiated_version)
    problems = []
    for name, feature, label in _OPTION_FIELDS:
        value = posted.get(name)
        if getattr(available, feature) or value in (None, "", "off", "false", "False"):
            continue
        if name == "power_state" and value == "running":
            continue  # what every microversion without the choice does anyway
        problems.append(_("%(option)s is not possible with this cloud (compute microversion "
                          "%(version)s).")
                        % {"option": _(label), "version": microversions.to_string(
                            microversions.parse(negotiated_version))})
    return problems


def _version_for_power_state(keep_running, negotiated, notes):
    leaves_stopped = microversions.FEATURES["evacuate_leaves_stopped"]
    if not microversions.supports("evacuate_leaves_stopped", negotiated):
        if not keep_running:
            raise OptionError(
                _("Leaving evacuated servers stopped needs compute microversion %(needed)s "
                  "(Nova 2023.1) or later; this cloud only offers up to %(offered)s. Servers "
                  "will return to their previous power state instead.")
                % {"needed": microversions.to_string(leaves_stopped.minimum),
                   "offered": microversions.to_string(negotiated)})
        return negotiated
    if keep_running:
        major, minor = leaves_stopped.minimum
        version = (major, minor - 1)
        notes.append(
            _("Sent as microversion %(version)s so servers return to their previous power "
              "state (%(stopping)s and later would leave them stopped).")
            % {"version": microversions.to_string(version),
               "stopping": microversions.to_string(leaves_stopped.minimum)})
        return version
    notes.append(
        _("Servers will end SHUTOFF on their new host and must be started afterwards; servers "
          "that were in ERROR come back running. Nova refuses this while any nova-compute that "
          "is not forced down is older than 2023.1."))
    return negotiated


def _add_shared_storage(body, on_shared_storage, password, version, notes):
    if not microversions.supports("evacuate_shared_storage_flag", version):
        if on_shared_storage is not None:
            notes.append(_("At microversion %s Nova detects shared instance storage itself; "
                           "the shared-storage choice is not sent.")
                         % microversions.to_string(version))
        return
    shared = bool(on_shared_storage)
    if shared and password:
        raise OptionError(
            _("An admin password cannot be set when the instance storage is shared: Nova keeps "
              "the existing disk. Clear the password or untick shared storage."))
    body["onSharedStorage"] = shared
    notes.append(
        _("Instance storage declared as %s. If that is wrong the rebuild fails on the new host "
          "and the server goes to ERROR.") % (_("shared") if shared else _("not shared")))


def _add_force(body, force, host, version, notes):
    if force and not host:
        raise OptionError(_("Forcing needs a target host: choose one, or let the scheduler pick "
                            "a host without forcing."))
    if microversions.supports("evacuate_force", version):
        if force:
            body["force"] = True
            notes.append(_("Forced to %s: the scheduler is bypassed, so nothing checks that the "
                           "host is up, enabled or has room.") % host)
        return
    if microversions.supports("scheduler_checks_target_host", version):
        if force:
            raise OptionError(
                _("Forcing a target host is not possible at microversion %s: Nova always lets "
                  "the scheduler validate the host. Untick force.")
                % microversions.to_string(version))
        return
    if host:
        notes.append(_("At microversion %(version)s a named target host bypasses the scheduler: "
                       "nothing checks that %(host)s is up, enabled or has room.")
                     % {"version": microversions.to_string(version), "host": host})


def _add_password_note(body, version, notes):
    if microversions.supports("evacuate_returns_password", version):
        if not body.get("onSharedStorage"):
            notes.append(_("Nova answers with the admin password (generated unless one was set) "
                           "when enable_instance_password is on; it is shown once."))
    elif "adminPass" in body:
        notes.append(_("Nova does not return or store this password; it only reaches the guest "
                       "if the hypervisor driver injects passwords (libvirt inject_password is "
                       "off by default)."))
