"""Nova's FakeDriverWithoutFakeNodes with a realistic, configurable host size.

Installed by the local-cloud tool as ``nova/virt/evac_lc_fake.py`` inside the cloud's own
virtualenv (Nova only loads drivers from the ``nova.virt`` package) and selected with
``compute_driver = evac_lc_fake.SizedFakeDriver``.

The stock fake driver reports 1000 vCPU / 800 GB RAM / 600 TB disk per host, which makes
every capacity question trivially "yes". This subclass only changes those three numbers,
read from the ``[evac_localcloud]`` section of each compute's own config file; evacuation,
node identity under ``state_path`` and Placement inventory reporting are Nova's own code.
"""
from oslo_config import cfg

from nova.virt import fake

_OPTS = [
    cfg.IntOpt("vcpus", default=32, min=1, help="vCPUs this fake host reports"),
    cfg.IntOpt("ram_mb", default=128 * 1024, min=1, help="RAM (MiB) this fake host reports"),
    cfg.IntOpt("disk_gb", default=2048, min=1, help="local disk (GB) this fake host reports"),
]
CONF = cfg.CONF
CONF.register_opts(_OPTS, group="evac_localcloud")


class SizedFakeDriver(fake.FakeDriverWithoutFakeNodes):
    def __init__(self, virtapi, read_only=False):
        # FakeDriver.__init__ sizes its Resources from these attributes.
        self.vcpus = CONF.evac_localcloud.vcpus
        self.memory_mb = CONF.evac_localcloud.ram_mb
        self.local_gb = CONF.evac_localcloud.disk_gb
        super().__init__(virtapi, read_only)
