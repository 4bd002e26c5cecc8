"""sushy-tools' Redfish emulator (fake systems driver) as the local cloud's BMCs.

Runs in a Python that has sushy-tools (the local cloud's BMC virtualenv, or the dashboard's
for its unit tests): ``python lc_redfish.py --config <emulator.conf>``. Two changes to the
stock emulator, both made here, without touching its code:

* ``EVAC_LC_BMC_POWER_DELAY`` (seconds, default 2): how long a power change takes to show.
  The stock fake driver picks 1-11 s at random; a fixed delay keeps fencing times
  comparable from run to run.
* With ``EVAC_LC_DIR`` set (the local cloud's data directory, and the repository on
  ``PYTHONPATH``), a power change that has happened drives the host: Off kills that host's
  nova-compute (before the BMC answers "Off"), On starts it again. The driver's own
  external-notification hook calls this: systems are configured with
  ``external_notifier: True``; a notification about a change still pending is ignored.
"""
import os
import sys
import threading
import types

from sushy_tools.emulator.resources.systems import fakedriver

DELAY = float(os.environ.get("EVAC_LC_BMC_POWER_DELAY", "2"))
# fakedriver: apply_time = int(time.time()) + random.randint(1, 11)
fakedriver.random = types.SimpleNamespace(randint=lambda low, high: DELAY)

_lock = threading.Lock()


def _drive_host(name, power_state):
    from evac_dashboard.localcloud import config, hosts, lifecycle
    cloud = config.Cloud(os.environ["EVAC_LC_DIR"])
    if name not in cloud.compute_hosts:
        return
    with _lock:
        if power_state == "Off":
            print("BMC %s: Off -> killing its nova-compute" % name, flush=True)
            hosts.kill_host(cloud, name)
        elif power_state == "On":
            print("BMC %s: On -> starting its nova-compute" % name, flush=True)
            threading.Thread(target=lifecycle.start_computes, args=(cloud, [name]),
                             daemon=True).start()


def _notify(self, system):
    if system.get("pending_power"):
        return  # requested, not happened yet
    try:
        _drive_host(system.get("name"), system.get("power_state"))
    except Exception as error:  # noqa: BLE001 - the BMC still answers; the log says why
        print("BMC %s: could not drive the host: %r" % (system.get("name"), error), flush=True)


if os.environ.get("EVAC_LC_DIR"):
    fakedriver.FakeDriver._send_external_notification = _notify


def main():
    from sushy_tools.emulator.main import main as emulator_main
    return emulator_main()


if __name__ == "__main__":
    sys.exit(main())
