"""The fuzz suite's cloud: a fake Nova (and Placement) over real HTTP on 127.0.0.1, a Redfish
BMC emulator, a database with two batches and an audit record, and three identities (admin,
member, anonymous).

``FuzzNova`` is ``EvacuatingFakeNova`` (services, hypervisors, servers with
``changes-since``, migrations, evacuate and service writes, Placement providers) plus the
instance actions the History page reads. ``FuzzCase`` is a Horizon ``TestCase`` whose
requests go through the whole Django stack (middleware, Horizon's panel permissions, CSRF
when asked) to the plugin's views, which call the real API layer against the fake.

Every example runs inside a savepoint that is rolled back, and the fake Nova's state is
restored after it, so examples do not leak into each other and a failing one replays.
"""
import atexit
import contextlib
import copy
import json
import os
import tempfile
import time
from types import SimpleNamespace
from unittest import mock
from urllib import parse

from django import test as django_test
from django.conf import settings as django_settings
from django.db import transaction
from django.test import Client
from django.test import override_settings
from hypothesis import HealthCheck, Phase, settings
from hypothesis.database import DirectoryBasedExampleDatabase
from hypothesis.extra import django as hypothesis_django
from requests.packages.urllib3.connection import HTTPConnection

from openstack_auth import utils as auth_utils
from openstack_dashboard.test import helpers as test

from evac_dashboard import devsite
from evac_dashboard import models
from evac_dashboard.api import client
from evac_dashboard.api import history as history_api
from evac_dashboard.api import nova as nova_api
from evac_dashboard.api import placement as placement_api
from evac_dashboard.operations import bmc_inventory
from evac_dashboard.operations import external_sync
from evac_dashboard.operations import progress_reads
from evac_dashboard.operations import submission
from evac_dashboard.rules import request as evac_request
from evac_dashboard.store import audit
from evac_dashboard.store import batches
from tests.unit import factories
from tests.unit.fakes import bmc as fake_bmc
from tests.unit.fakes.evacuating_nova import EvacuatingFakeNova
from tests.unit.fakes.nova import fake_request
from tests.unit.fuzz import oracle

SOURCE = "cmp1"
ADMIN, MEMBER, ANONYMOUS = "admin", "member", "anonymous"
IDENTITIES = (ADMIN, MEMBER, ANONYMOUS)
CSRF_SECRET = "Fz" * 16  # a well-formed 32-character CSRF secret (cookie and form token)
SETUP_PASSWORD = "Setup-pw-7c1e9a"  # the finished batch's admin password: never shown
BMC_SECRETS = (fake_bmc.PASSWORD, "wrong-one")  # the BMC file's passwords: never shown
# Hypothesis keeps the failing examples it found here (ignored by git) and replays them first.
EXAMPLES_DB = DirectoryBasedExampleDatabase(
    os.path.join(devsite.REPO_ROOT, ".artifacts", "hypothesis"))


def fuzz_settings(examples):
    """Hypothesis settings of the suite: ``examples`` per test, no deadline (a page takes
    what it takes), fixtures per test not per example (the examples roll back themselves).
    ``EVAC_FUZZ_SHRINK=0`` skips shrinking a failure (quicker while hunting defects)."""
    phases = tuple(Phase)
    if os.environ.get("EVAC_FUZZ_SHRINK", "1") == "0":
        phases = (Phase.explicit, Phase.reuse, Phase.generate)
    return settings(max_examples=examples, deadline=None, database=EXAMPLES_DB,
                    suppress_health_check=list(HealthCheck), print_blob=True, phases=phases)


_redfish = []


def redfish():
    """sushy-tools' Redfish emulator for cmp1 and cmp3 (one process for the whole run,
    stopped at exit): cmp1's BMC has the right password, cmp3's entry a wrong one."""
    if not _redfish:
        emulator = fake_bmc.RedfishEmulator(tempfile.mkdtemp(prefix="evac-fuzz-bmc-"),
                                            ["cmp1", "cmp3"], power_delay=0)
        atexit.register(emulator.stop)
        _redfish.append(emulator)
    return _redfish[0]


class FuzzNova(EvacuatingFakeNova):
    """``EvacuatingFakeNova`` plus ``GET /servers/{id}/os-instance-actions`` (``actions``)."""

    STATE = ("services", "hypervisors", "servers", "migrations", "providers", "actions",
             "refusals", "progress_of", "servers_status", "migrations_status")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.actions = {}

    def answer(self, method, path, query, headers):
        if path.startswith("/v2.1/servers/") and path.endswith("/os-instance-actions"):
            server_id = parse.unquote(path.split("/")[3])
            return 200, {"instanceActions": list(self.actions.get(server_id, []))}
        try:
            return super().answer(method, path, query, headers)
        except Exception as error:  # the fakes' own limits: Nova's 500, not a dropped line
            oracle.note("the fake Nova failed on %s: %s" % (path.split("/")[2] if path.count(
                "/") > 1 else path, type(error).__name__))
            return 500, {"computeFault": {"code": 500, "message": "fake: %s" % error}}

    def _evacuate(self, server_id, body, headers):
        # As Nova: the id is a percent-encoded path segment, and an unknown one is a 404
        # (the parent fakes would drop the connection, which the plugin takes for a lost
        # answer and waits to settle).
        server_id = parse.unquote(server_id)
        with self.lock:
            known = any(s["id"] == server_id for s in self.servers)
        if not known:
            return 404, {"itemNotFound": {"code": 404, "message": "Instance %s could not be "
                                          "found." % server_id}}, headers
        return super()._evacuate(server_id, body, headers)

    def save(self):
        with self.lock:
            return {name: copy.deepcopy(getattr(self, name)) for name in self.STATE}

    def restore(self, saved):
        with self.lock:
            for name, value in saved.items():
                setattr(self, name, copy.deepcopy(value))
            self.requests.clear()
            self.issued_request_ids.clear()


def base_world(nova):
    """cmp1 failed and forced down with four instances; cmp2 up; cmp3 disabled."""
    nova.services = [
        factories.service(SOURCE, state="down", forced_down=True, status="disabled",
                          reason="fenced: evacuating", seconds_ago=600),
        factories.service("cmp2"), factories.service("cmp3", status="disabled",
                                                      reason="maintenance")]
    nova.hypervisors = [factories.hypervisor(h, servers=2) for h in (SOURCE, "cmp2", "cmp3")]
    nova.providers = {h["id"]: provider(32, 131072) for h in nova.hypervisors}
    nova.servers = []
    nova.add_servers([
        factories.server("web-1", SOURCE),
        factories.server("db-1", SOURCE, volume_backed=True,
                         metadata={"evac:restart_priority": "100"}),
        factories.server("paused-1", SOURCE, status="PAUSED", vm_state="paused"),
        factories.server("app-1", "cmp2")])


def provider(vcpus, ram_mb, used_vcpu=0, used_ram=0):
    def inventory(total, ratio=1.0):
        return {"total": total, "reserved": 0, "allocation_ratio": ratio, "min_unit": 1,
                "max_unit": total, "step_size": 1}
    return {"inventories": {"VCPU": inventory(vcpus, 4.0), "MEMORY_MB": inventory(ram_mb),
                            "DISK_GB": inventory(2000)},
            "usages": {"VCPU": used_vcpu, "MEMORY_MB": used_ram, "DISK_GB": 0}}


def fast_templates():
    """The test settings' templates behind Django's cached loader (parsed once, not per
    page)."""
    engine = copy.deepcopy(django_settings.TEMPLATES[0])
    engine["OPTIONS"]["loaders"] = [("django.template.loaders.cached.Loader",
                                     engine["OPTIONS"]["loaders"])]
    return [engine]


# The static assets are not what this suite tests: no compression nor SCSS compilation
# (the test settings compile SCSS on every page for the browser tests' screenshots, ~2 s a
# page), and templates parsed once.
@override_settings(EVAC_NOVA_MICROVERSION=None, EVAC_PROGRESS_CACHE_SECONDS=0,
                   EVAC_NOVA_TIMEOUT=5, EVAC_AUDIT_SYNC_SECONDS=0, COMPRESS_ENABLED=False,
                   COMPRESS_PRECOMPILERS=(), TEMPLATES=fast_templates())
class FuzzCase(hypothesis_django.TestCase, test.TestCase):
    """The fake cloud (``base_world``, the BMC file, ``_batches``, an audit record) and
    ``send(...)``: one request as one identity, checked by the oracle."""

    def setUp(self):
        super().setUp()
        HTTPConnection.connect = self._real_conn_request  # the fake Nova is real HTTP
        self._identities()
        client.forget_versions()
        progress_reads.forget_cache()
        external_sync.forget_sync_times()
        self.nova = FuzzNova().start()
        self.addCleanup(self.nova.stop)
        self.addCleanup(client.forget_versions)
        endpoint = self.nova.endpoint
        placement = SimpleNamespace(url_for=lambda request, kind: self.nova.placement_endpoint)
        for target, name, value in (
                (client, "compute_endpoint", mock.Mock(return_value=endpoint)),
                (nova_api, "project_names", mock.Mock(return_value={"p1": "demo"})),
                (history_api, "user_name", mock.Mock(side_effect=self._user_name)),
                (placement_api, "base", placement),
                (submission, "_pool", mock.Mock(
                    side_effect=lambda batch: submission.InlineExecutor()))):
            patcher = mock.patch.object(target, name, value)
            patcher.start()
            self.addCleanup(patcher.stop)
        base_world(self.nova)
        self._bmc()
        self.batches = self._batches()
        self.item_ids = list(models.EvacuationItem.objects.values_list("pk", flat=True))
        self.record = audit.begin(factories.ADMIN, models.AuditRecord.FORCE_DOWN,
                                  source_host=SOURCE, options={"reason": "fenced"})
        audit.complete(self.record, models.AuditRecord.SUCCEEDED)
        self.clients = {False: Client(), True: Client(enforce_csrf_checks=True)}
        self.clients[True].cookies["csrftoken"] = CSRF_SECRET
        self.user_names = {}
        self.saved_nova = self.nova.save()

    def _bmc(self):
        emulator = redfish()
        path = os.path.join(emulator.dir, "bmc-%s.json" % self._testMethodName)
        fake_bmc.bmc_file(path, {
            "cmp1": fake_bmc.redfish_entry(emulator, "cmp1"),
            "cmp3": fake_bmc.redfish_entry(emulator, "cmp3", password=BMC_SECRETS[1])},
            fmt="json")
        overridden = self.settings(EVAC_BMC_FILE=path, EVAC_BMC_FENCE_TIMEOUT=2,
                                   EVAC_BMC_TIMEOUT=1, EVAC_BMC_STATUS_SECONDS=1,
                                   EVAC_BMC_POWER_CACHE_SECONDS=0)
        overridden.enable()
        self.addCleanup(overridden.disable)
        self.addCleanup(bmc_inventory.forget)
        bmc_inventory.forget()
        self.bmc_touched = False

    def bmc_hosts(self, hosts):
        """For this example only: a BMC file giving ``hosts`` cmp1's BMC (the emulator)."""
        emulator = redfish()
        path = os.path.join(emulator.dir, "bmc-%s-example.json" % self._testMethodName)
        fake_bmc.bmc_file(path, {host: fake_bmc.redfish_entry(emulator, "cmp1")
                                 for host in hosts}, fmt="json")
        overridden = self.settings(EVAC_BMC_FILE=path)
        overridden.enable()
        bmc_inventory.forget()
        self.example_cleanups += [bmc_inventory.forget, overridden.disable]

    # --- identities --------------------------------------------------------------------
    def _identities(self):
        tenants = self.context["authorized_tenants"]
        common = dict(id=self.user.id, token=self.token, username=self.user.name,
                      domain_id=self.domain.id, user_domain_name=self.domain.name,
                      user_domain_id=self.domain.id, tenant_id=self.tenant.id,
                      service_catalog=self.service_catalog, authorized_tenants=tenants)
        self.setActiveUser(roles=[self.roles.admin._info], **common)
        admin = auth_utils.get_user
        self.setActiveUser(roles=[{"id": "2", "name": "member"},
                                  {"id": "3", "name": "reader"}], **common)
        member = auth_utils.get_user
        self.get_user = {ADMIN: admin, MEMBER: member, ANONYMOUS: self._real_get_user}
        self.as_identity(ADMIN)

    def as_identity(self, identity):
        auth_utils.get_user = self.get_user[identity]

    def _user_name(self, request, user_id):
        return self.user_names.get(user_id, "")

    # --- data --------------------------------------------------------------------------
    def _batches(self):
        """``finished``: sent with a password, its first evacuation failed in Nova and its
        second refused by Nova (both can be retried);
        ``interrupted``: claimed by a worker that stopped before sending (cancel, resume)."""
        servers = [s for s in self.nova.servers if s["OS-EXT-SRV-ATTR:host"] == SOURCE
                   and s["status"] != "PAUSED"]
        self.nova.refusals[servers[1]["id"]] = (400, "Compute service of cmp1 is still in use.")
        finished = batches.create_batch(
            kind=models.EvacuationBatch.KIND_HOST, source_host=SOURCE, servers=servers,
            options=evac_request.EvacuateOptions(admin_password=SETUP_PASSWORD),
            microversion="2.95", initiator=factories.ADMIN)
        submission.start(finished, submission.Credentials.from_request(
            fake_request(self.nova.endpoint)), password=SETUP_PASSWORD,
            executor=submission.InlineExecutor())
        self.nova.refusals.clear()
        for instance_id in list(self.nova.progress_of):  # its accepted one then failed
            self.nova.fail(instance_id, fault_message="No valid host was found.")
        interrupted = batches.create_batch(
            kind=models.EvacuationBatch.KIND_HOST, source_host=SOURCE, servers=servers,
            options=evac_request.EvacuateOptions(), microversion="2.95",
            initiator=factories.ADMIN)
        batches.claim(interrupted, "gone:1")
        batches.finish_batch(interrupted.pk, "the worker stopped")
        for batch in (finished, interrupted):
            batch.refresh_from_db()
        return {"finished": finished, "interrupted": interrupted}

    def progress_version(self, batch):
        """The version a browser holding the batch's page would send as ``since``."""
        response = self.send(oracle.Request(
            "evac_batches:progress", ADMIN, "GET", "/admin/evac_batches/%s/progress.json"
            % batch.pk))
        return json.loads(response.content)["version"] or ""

    # --- one example (hypothesis calls these around each) -------------------------------
    def __call__(self, result=None):
        # Django's per-test transaction around setUp and the whole test, as for any test;
        # hypothesis.extra.django's own __call__ would skip it for @given tests.
        return django_test.SimpleTestCase.__call__(self, result)

    def setup_example(self):
        """A savepoint, rolled back by ``teardown_example``; fresh cookies."""
        self.example_cleanups = []
        self._example_atomic = transaction.atomic()
        self._example_atomic.__enter__()
        for http in self.clients.values():
            http.cookies.clear()

    def teardown_example(self, example):
        try:
            transaction.set_rollback(True)
            self._example_atomic.__exit__(None, None, None)
        finally:
            while self.example_cleanups:
                self.example_cleanups.pop()()
            self.nova.restore(self.saved_nova)
            progress_reads.forget_cache()
            self.as_identity(ADMIN)
            if self.bmc_touched:  # a fence or power-on may have switched cmp1 off
                redfish().set_power("cmp1", "On")
                self.bmc_touched = False

    @contextlib.contextmanager
    def example(self):
        """The same, for a test that is not a hypothesis one."""
        self.setup_example()
        try:
            yield
        finally:
            self.teardown_example(None)

    def send(self, request, excuse=True):
        """Send one ``oracle.Request`` and check the answer (known defects excused unless
        ``excuse`` is False); returns the response."""
        self.as_identity(request.identity)
        http = self.clients[request.csrf != oracle.CSRF_OFF]
        extra = dict(request.headers)
        if request.csrf == oracle.CSRF_VALID:
            http.cookies["csrftoken"] = CSRF_SECRET
            extra["HTTP_X_CSRFTOKEN"] = CSRF_SECRET
        elif request.csrf == oracle.CSRF_WRONG:
            http.cookies["csrftoken"] = CSRF_SECRET
            extra["HTTP_X_CSRFTOKEN"] = "Xx" * 16
        elif request.csrf == oracle.CSRF_MISSING:
            http.cookies.pop("csrftoken", None)
        oracle.count_request(request.endpoint or "-")
        if request.method not in oracle.SAFE_METHODS:
            self.bmc_touched = True
        oracle.CATCHER.records.clear()
        started = time.monotonic()
        try:
            response = http.generic(request.method, **request.django_args(), **extra)
        except Exception as error:  # the test client re-raises what the view raised
            response = oracle.Raised(error)
        finally:
            self.as_identity(ADMIN)
        oracle.SECONDS[request.endpoint or "-"].append(time.monotonic() - started)
        logged = list(oracle.CATCHER.records)
        oracle.check(request, response, secrets=(SETUP_PASSWORD,) + BMC_SECRETS,
                     logged=logged, excuse=excuse)
        return response
