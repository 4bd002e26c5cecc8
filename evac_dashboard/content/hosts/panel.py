from django.utils.translation import gettext_lazy as _

import horizon


class ComputeHosts(horizon.Panel):
    name = _("Compute Hosts")
    slug = "evac_hosts"
    permissions = ("openstack.roles.admin", "openstack.services.compute")
    policy_rules = (("compute", "os_compute_api:os-services:list"),)
