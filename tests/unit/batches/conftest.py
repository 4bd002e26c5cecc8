import pytest

from evac_dashboard.api import client
from tests.unit.batches.fakes import WritableFakeNova


@pytest.fixture
def fake_nova(settings):
    settings.EVAC_NOVA_MICROVERSION = None
    client.forget_versions()
    server = WritableFakeNova().start()
    yield server
    if server.gate is not None:
        server.gate.set()
    server.stop()
    client.forget_versions()
