import pytest

from tests.unit.fakes import history_nova


@pytest.fixture
def fake_nova(settings):
    """The fake Nova with instance actions (``tests.unit.fakes.history_nova``)."""
    yield from history_nova.running(settings)
