"""The cloud's own virtualenv (``<datadir>/venv``), separate from the dashboard's."""
import hashlib
import shutil
import subprocess
import sys
import time

from . import config
from .procs import CloudError, run, say

_STAMP = ".evac-requirements.sha256"


def _wanted_hash():
    data = config.REQUIREMENTS.read_bytes()
    data += config.RUNTIME_DIR.joinpath("evac_lc_fake.py").read_bytes()
    return hashlib.sha256(data).hexdigest()


def is_ready(cloud):
    stamp = cloud.venv / _STAMP
    return stamp.exists() and stamp.read_text().strip() == _wanted_hash()


def ensure(cloud):
    """Create/refresh the virtualenv when requirements.txt changed; returns seconds spent."""
    if is_ready(cloud):
        return 0.0
    t0 = time.monotonic()
    log = cloud.logs / "pip.log"
    py = str(cloud.venv / "bin" / "python")
    if not (cloud.venv / "bin" / "python").exists():
        say("  creating virtualenv %s" % cloud.venv)
        run([sys.executable, "-m", "venv", str(cloud.venv)], log, what="python3 -m venv")
    say("  pip install -r %s (about a minute; log: %s)" % (config.REQUIREMENTS, log))
    run([py, "-m", "pip", "install", "-q", "--disable-pip-version-check",
         "-r", str(config.REQUIREMENTS)], log, what="pip install", timeout=1800)
    _install_fake_driver(cloud)
    (cloud.venv / _STAMP).write_text(_wanted_hash() + "\n")
    return time.monotonic() - t0


def site_packages(cloud):
    out = subprocess.check_output([str(cloud.venv / "bin" / "python"), "-c",
                                   "import nova, os; print(os.path.dirname(nova.__file__))"],
                                  text=True)
    return out.strip()


def _install_fake_driver(cloud):
    """Nova loads drivers only from the nova.virt package: put ours there."""
    nova_dir = site_packages(cloud)
    if not nova_dir:
        raise CloudError("nova is not importable in %s" % cloud.venv)
    shutil.copyfile(config.RUNTIME_DIR / "evac_lc_fake.py",
                    "%s/virt/evac_lc_fake.py" % nova_dir)
