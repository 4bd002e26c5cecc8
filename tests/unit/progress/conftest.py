import pytest

from evac_dashboard.api import client
from evac_dashboard.operations import progress_reads
from tests.unit.progress.fakes import EvacuatingFakeNova


@pytest.fixture
def evac_nova(settings):
    """A fake Nova over real HTTP that plays evacuations forward (``fakes.py``)."""
    settings.EVAC_NOVA_MICROVERSION = None
    settings.EVAC_PROGRESS_CACHE_SECONDS = 0
    client.forget_versions()
    progress_reads.forget_cache()
    server = EvacuatingFakeNova().start()
    yield server
    if server.gate is not None:
        server.gate.set()
    server.stop()
    client.forget_versions()
    progress_reads.forget_cache()
