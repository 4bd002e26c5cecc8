"""A real OpenStack on 127.0.0.1 with Nova's fake virt driver, for development and tests.

Run as ``python3 -m evac_dashboard.localcloud <command>`` with the machine's plain python3.
The tool itself uses only the standard library; the OpenStack services run from their own
virtualenv inside the data directory. See docs/local-cloud.md.

Nothing is imported here so that ``import evac_dashboard.localcloud.<module>`` stays cheap.
"""
