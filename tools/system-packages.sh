#!/usr/bin/env bash
# Installs the Debian packages the project needs (idempotent; skips apt when all are present).
#   chromium, chromium-driver   browser tests (headless, no driver download)
#   mariadb-server              local cloud databases and the plugin's MySQL tests
#   rabbitmq-server             local cloud message bus
#   gettext                     xgettext/msgmerge for make messages (compiling uses Babel)
#   fonts-wqy-microhei          Chinese glyphs in the browser tests' screenshots
#   memcached                   the leases on tooz's memcached driver (unit tests, deploy test)
#   libmariadb-dev, pkg-config  (not needed: PyMySQL is pure Python)
set -euo pipefail
# Arguments replace the list (tools/deploy/system-packages.sh passes its own).
pkgs=(chromium chromium-driver mariadb-server rabbitmq-server memcached gettext
      fonts-wqy-microhei)
[ $# -gt 0 ] && pkgs=("$@")
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "system packages: all present"
  exit 0
fi
echo "system packages: installing ${missing[*]}"
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
# The Debian packages try to start system-wide services; the project never uses them.
