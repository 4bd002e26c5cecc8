#!/usr/bin/env bash
# The Debian packages of the production-shape deployment test (idempotent):
#   apache2, libapache2-mod-wsgi-py3  stock Horizon under Apache mod_wsgi (Debian's build,
#                                     embedding Debian's python3)
#   haproxy                           round-robin in front of the Apache nodes
#   memcached                         sessions, cache and coordination (tooz)
#   python3-venv                      the deployment's virtualenv on Debian's python3
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bash "$here/../system-packages.sh" apache2 libapache2-mod-wsgi-py3 haproxy memcached python3-venv
# The packages' own system-wide services are not used: the test runs its own instances.
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
for service in apache2 haproxy memcached; do
  $SUDO service "$service" stop >/dev/null 2>&1 || true
done
