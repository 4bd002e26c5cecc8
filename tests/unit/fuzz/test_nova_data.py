"""A hostile Nova: server names, metadata (``evac:restart_priority``), fault messages,
host names, reasons, migration records and instance actions chosen by hypothesis
(``world.world``), then every page that shows them is read, as an operator would: the
hosts, the host, both evacuate modals and the wizard, an evacuation submitted from the
modal's own signed list and its progress (after one instance failed with a hostile fault),
the history, its detail and its CSV export."""
import html
import os
import re

from hypothesis import given
from hypothesis import strategies as st

from evac_dashboard import models
from tests.unit.fakes.evacuating_nova import SEQUENCE
from tests.unit.fuzz import cloud
from tests.unit.fuzz import endpoints
from tests.unit.fuzz import oracle
from tests.unit.fuzz import strategies as hs
from tests.unit.fuzz import world as hostile

EXAMPLES = int(os.environ.get("EVAC_FUZZ_WORLDS", "45"))
REVIEWED = re.compile(r'name="reviewed" value="([^"]*)"')
seg = endpoints.segment


class HostileNovaTests(cloud.FuzzCase):
    def get(self, endpoint, path, query=(), **headers):
        return self.send(oracle.Request(endpoint, cloud.ADMIN, "GET", path,
                                        query=list(query), headers=headers))

    def post(self, endpoint, path, data, password=None):
        return self.send(oracle.Request(endpoint, cloud.ADMIN, "POST", path, data=data,
                                        passwords=(password,) if password else ()))

    @cloud.fuzz_settings(EXAMPLES)
    @given(drawn=hostile.world(), password=hs.password(), data=st.data())
    def test_pages_show_what_nova_says_safely(self, drawn, password, data):
        hostile.install(self, drawn)
        fenced_by_bmc = data.draw(st.booleans())
        if fenced_by_bmc:
            self.bmc_hosts([drawn["source"]])
        host = seg(drawn["source"])
        hosts = endpoints.HOSTS + host + "/"
        first = drawn["servers"][0]["id"]
        self.get("evac_hosts:index", endpoints.HOSTS)
        self.get("evac_hosts:power_states", endpoints.HOSTS + "power-states/",
                 [("fresh", "1")])
        self.get("evac_hosts:detail", hosts)
        for name, path in (("force_down", "force-down/"), ("unset_force_down",
                                                           "unset-force-down/"),
                           ("disable", "disable/"), ("enable", "enable/")):
            if data.draw(st.integers(0, 3)) == 0:
                self.get("evac_hosts:" + name, hosts + path)
        self.get("evac_hosts:evacuate_instance", hosts + "instances/%s/evacuate/" % seg(first))
        self.get("evac_hosts:wizard", hosts + "wizard/")
        self.get("evac_hosts:wizard_capacity", hosts + "wizard/capacity/",
                 [("instances", s["id"]) for s in drawn["servers"]]
                 + [("mode", data.draw(st.sampled_from(("scheduler", "plan", "one_host"))))])
        if fenced_by_bmc:
            self.get("evac_hosts:fence", hosts + "fence/")
            self.get("evac_hosts:power_on", hosts + "power-on/")
            self.fence_and_evacuate(drawn, hosts)
        modal = self.get("evac_hosts:evacuate_host", hosts + "evacuate/")
        found = REVIEWED.search(modal.content.decode()) if modal.status_code == 200 else None
        if found:
            answer = self.post("evac_hosts:evacuate_host", hosts + "evacuate/", [
                ("host", drawn["source"]), ("target_host", ""), ("power_state", "running"),
                ("admin_pass", password), ("confirm_admin_pass", password),
                ("acknowledge_local_disks", "on"), ("reviewed", html.unescape(found[1]))],
                password=password)
            oracle.note("evacuate POST from a hostile modal answered %d"
                        % answer.status_code)
        for batch in models.EvacuationBatch.objects.filter(source_host=drawn["source"]):
            self.show_batch(batch, drawn, password)
        self.get("evac_history:index", endpoints.HISTORY)
        self.get("evac_history:index", endpoints.HISTORY, [("host", drawn["source"])])
        self.get("evac_history:export", endpoints.HISTORY + "export.csv")
        for record in models.AuditRecord.objects.order_by("-pk")[:2]:
            self.get("evac_history:detail", endpoints.HISTORY + "%d/" % record.pk)

    def fence_and_evacuate(self, drawn, hosts):
        """The Fence and evacuate modal, and its POST with the list it signed."""
        modal = self.get("evac_hosts:fence_evacuate", hosts + "fence-evacuate/")
        found = REVIEWED.search(modal.content.decode()) if modal.status_code == 200 else None
        if found:
            answer = self.post("evac_hosts:fence_evacuate", hosts + "fence-evacuate/", [
                ("host", drawn["source"]), ("disable", "on"), ("reason", drawn["fault"][:200]),
                ("override_host", ""), ("power_state", "running"),
                ("acknowledge_local_disks", "on"), ("reviewed", html.unescape(found[1]))])
            oracle.note("fence-and-evacuate POST from a hostile modal answered %d"
                        % answer.status_code)

    def show_batch(self, batch, drawn, password):
        """The batch's page and polls, before and after Nova played it (one failed)."""
        detail = endpoints.BATCHES + str(batch.pk) + "/"
        self.get("evac_batches:detail", detail)
        self.get("evac_batches:progress", detail + "progress.json",
                 HTTP_X_REQUESTED_WITH="XMLHttpRequest")
        with self.nova.lock:
            moving = list(self.nova.progress_of)
        for index, instance_id in enumerate(moving):
            if index == 0:
                self.nova.fail(instance_id, fault_message=drawn["fault"])
            else:
                self.nova.step(instance_id, to=len(SEQUENCE) - 1)
        self.get("evac_batches:progress", detail + "progress.json")
        self.get("evac_batches:detail", detail)
        self.get("evac_batches:index", endpoints.BATCHES)
