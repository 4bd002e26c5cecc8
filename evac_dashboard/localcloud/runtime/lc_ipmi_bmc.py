"""A fake IPMI BMC on UDP (pyghmi's ``Bmc`` server): chassis power on/off/status.

Used by the local cloud (one per compute host) and by the dashboard's unit tests. Runs in a
Python that has pyghmi:

    python lc_ipmi_bmc.py --port 28623 --user admin --password-file F
        (--state-file S [--delay 2] | --redfish http://127.0.0.1:28800 --system PATH)

Standalone (``--state-file``), the power state lives in that file (JSON
``{"power_state": "On"|"Off"}``) and a change takes ``--delay`` seconds to show, like real
hardware. In the local cloud (``--redfish``), it is the IPMI side of the host's Redfish BMC
(sushy-tools' emulator, same user and password): one power state, read and changed through
Redfish, so fencing over either protocol kills the same nova-compute.
"""
import argparse
import base64
import json
import os
import threading
import time
import urllib.request

import pyghmi.ipmi.bmc as bmc
from pyghmi.ipmi.private import serversession

_open_session_response = serversession.ServerSession.create_open_session_response


def _sha1_only(self, request):
    """pyghmi's server speaks cipher suite 3 (SHA-1) only but answers any proposal as if it
    were accepted; its client proposes SHA-256 first and would then fail the RAKP check.
    Refuse other proposals (RMCP+ status 0x11, invalid authentication algorithm) the way a
    real BMC does, so the client falls back to SHA-1."""
    if len(request) > 12 and request[12] != 1:
        return bytearray([request[0], 0x11, 0, 0]) + bytearray(request[4:8]) + bytearray(4)
    return _open_session_response(self, request)


serversession.ServerSession.create_open_session_response = _sha1_only


class FakeBmc(bmc.Bmc):
    def __init__(self, authdata, port, address, state_file, delay=0.0, notify_url=None,
                 name=None):
        super().__init__(authdata, port=port, address=address)
        self.state_file = state_file
        self.delay = delay
        self.notify_url = notify_url
        self.name = name
        self.pending = None  # (state, when)
        self.lock = threading.Lock()
        if state_file and not os.path.exists(state_file):
            self._write("On")

    def _read(self):
        try:
            with open(self.state_file, encoding="utf-8") as handle:
                return json.load(handle).get("power_state", "On")
        except (OSError, ValueError):
            return "On"

    def _write(self, state):
        tmp = self.state_file + ".tmp"
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump({"power_state": state}, handle)
        os.replace(tmp, self.state_file)

    def _notify(self, state):
        if not self.notify_url:
            return
        body = json.dumps({"name": self.name, "power_state": state}).encode()
        request = urllib.request.Request(self.notify_url, data=body, method="PUT",
                                         headers={"Content-Type": "application/json"})
        try:
            urllib.request.urlopen(request, timeout=30).close()
        except OSError as error:
            print("notification to %s failed: %s" % (self.notify_url, error), flush=True)

    def current(self):
        with self.lock:
            if self.pending and time.time() >= self.pending[1]:
                state = self.pending[0]
                self.pending = None
                self._write(state)
                self._notify(state)
            return self._read()

    def _request(self, state):
        with self.lock:
            if self._read() == state and not self.pending:
                return
            self.pending = (state, time.time() + self.delay)
        self.current()

    def get_power_state(self):
        return self.current().lower()

    def power_off(self):
        self._request("Off")

    def power_on(self):
        self._request("On")

    def power_reset(self):
        pass

    def power_shutdown(self):
        self._request("Off")

    def cold_reset(self):
        pass

    def get_boot_device(self):
        return "default"

    def is_active(self):
        return self.current() == "On"


class RedfishBackedBmc(FakeBmc):
    """The IPMI face of a Redfish system: every read and change goes to the emulator."""

    def __init__(self, authdata, port, address, redfish, system, user, password):
        super().__init__(authdata, port, address, state_file=None)
        self.system_url = redfish.rstrip("/") + system
        token = base64.b64encode(("%s:%s" % (user, password)).encode()).decode()
        self.headers = {"Authorization": "Basic " + token, "Content-Type": "application/json"}

    def _http(self, url, body=None):
        request = urllib.request.Request(url, data=json.dumps(body).encode() if body else None,
                                         headers=self.headers,
                                         method="POST" if body else "GET")
        with urllib.request.urlopen(request, timeout=30) as answer:
            data = answer.read()
        return json.loads(data) if data else None

    def current(self):
        return self._http(self.system_url)["PowerState"]

    def get_power_state(self):
        return "off" if self.current() == "Off" else "on"  # PoweringOff is still on

    def _request(self, state):
        if self.current() != state:
            self._http(self.system_url + "/Actions/ComputerSystem.Reset",
                       {"ResetType": "ForceOff" if state == "Off" else "On"})


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--address", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--password-file", required=True)
    parser.add_argument("--state-file")
    parser.add_argument("--redfish", help="the Redfish emulator's base URL")
    parser.add_argument("--system", help="the system's path on it")
    parser.add_argument("--delay", type=float, default=0.0)
    parser.add_argument("--notify-url")
    parser.add_argument("--name")
    args = parser.parse_args()
    with open(args.password_file, encoding="utf-8") as handle:
        password = handle.read().strip()
    if args.redfish:
        server = RedfishBackedBmc({args.user: password}, args.port, args.address,
                                  args.redfish, args.system, args.user, password)
    else:
        server = FakeBmc({args.user: password}, args.port, args.address, args.state_file,
                         delay=args.delay, notify_url=args.notify_url, name=args.name)
    print("fake IPMI BMC on %s:%d (UDP)" % (args.address, args.port), flush=True)
    server.listen(timeout=0.5)


if __name__ == "__main__":
    main()
