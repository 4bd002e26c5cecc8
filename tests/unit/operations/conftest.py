"""Fixtures of the operations tests: the fake Nova that plays evacuations forward."""
from tests.unit.progress.conftest import evac_nova  # noqa: F401 - a fixture
