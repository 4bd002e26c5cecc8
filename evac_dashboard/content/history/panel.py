from django.utils.translation import gettext_lazy as _

import horizon


class History(horizon.Panel):
    name = _("History")
    slug = "evac_history"
    permissions = ("openstack.roles.admin", "openstack.services.compute")
