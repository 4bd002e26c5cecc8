"""The layout check can fail: a cycle between packages and an oversized module are found."""
import importlib.util
import pathlib

SPEC = importlib.util.spec_from_file_location(
    "check_layout", pathlib.Path(__file__).resolve().parents[3] / "tools" / "check_layout.py")
check_layout = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(check_layout)


def test_a_cycle_is_found_and_a_layered_graph_is_not():
    assert check_layout.cycle({"api": {"store"}, "store": {"api"}, "rules": set()})
    assert check_layout.cycle({"content": {"operations"}, "operations": {"store", "api"},
                               "store": {"rules"}, "api": {"rules"}, "rules": set()}) is None


def test_the_tree_as_it_is_passes():
    assert check_layout.main() == 0


def test_an_oversized_module_fails(tmp_path, monkeypatch):
    package = tmp_path / "evac_dashboard"
    (package / "rules").mkdir(parents=True)
    (package / "rules" / "big.py").write_text("x = 1\n" * 501)
    monkeypatch.setattr(check_layout, "ROOT", tmp_path)
    monkeypatch.setattr(check_layout, "PACKAGE", package)
    assert check_layout.main() == 1
