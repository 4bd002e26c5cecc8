#!/usr/bin/env bash
# The Debian packages of the production-shape deployment test (idempotent):
#   apache2, libapache2-mod-wsgi-py3  stock Horizon under Apache mod_wsgi (Debian's build,
#                                     embedding Debian's python3)
#   haproxy                           round-robin in front of the Apache nodes
#   memcached                         sessions, cache and coordination (tooz)
#   python3-venv                      the deployment's virtualenv on Debian's python3
set -euo pipefail
pkgs=(apache2 libapache2-mod-wsgi-py3 haproxy memcached python3-venv)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "deployment packages: all present"
  exit 0
fi
echo "deployment packages: installing ${missing[*]}"
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
# The packages' own system-wide services are not used: the test runs its own instances.
for service in apache2 haproxy memcached; do
  $SUDO service "$service" stop >/dev/null 2>&1 || true
done
