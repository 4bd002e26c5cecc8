"""Fixtures of the operations tests: the fake Nova that plays evacuations forward."""
import pytest

from evac_dashboard.operations import progress_reads
from tests.unit.fakes import nova
from tests.unit.fakes.evacuating_nova import EvacuatingFakeNova


@pytest.fixture
def evac_nova(settings):
    """A fake Nova over real HTTP that plays evacuations forward (``fakes/evacuating_nova.py``)."""
    settings.EVAC_PROGRESS_CACHE_SECONDS = 0
    yield from nova.running(settings, EvacuatingFakeNova(), forget=(progress_reads.forget_cache,))
    progress_reads.forget_cache()
