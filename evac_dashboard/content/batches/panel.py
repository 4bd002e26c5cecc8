from django.utils.translation import gettext_lazy as _

import horizon


class Evacuations(horizon.Panel):
    name = _("Evacuations")
    slug = "evac_batches"
    permissions = ("openstack.roles.admin", "openstack.services.compute")
    policy_rules = (("compute", "os_compute_api:os-evacuate"),)
