"""The fuzz suite's tally in the terminal summary (``fuzz_requests=<n>`` and more)."""


def pytest_terminal_summary(terminalreporter):
    from tests.unit.fuzz import oracle

    if oracle.total_requests():
        terminalreporter.section("fuzz")
        for line in oracle.summary():
            terminalreporter.write_line(line)
