import pytest

from evac_dashboard.store import audit
from evac_dashboard.api import client
from tests.unit.audit.fakes import AuditFakeNova


@pytest.fixture
def fake_nova(settings):
    settings.EVAC_NOVA_MICROVERSION = None
    settings.EVAC_AUDIT_SYNC_SECONDS = 0
    client.forget_versions()
    audit.forget_sync_times()
    server = AuditFakeNova().start()
    yield server
    if server.gate is not None:
        server.gate.set()
    server.stop()
    client.forget_versions()
