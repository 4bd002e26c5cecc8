"""A Horizon site with the plugin enabled, for development (``manage.py``) and tests.

Production installs do not use this package: there the operator copies the files of
``evac_dashboard/enabled/`` into Horizon's ``openstack_dashboard/local/enabled/``.
``add_enabled_files`` does the same thing without copying, by adding our enabled folder to
the search path of Horizon's enabled package before Horizon's settings read it.
"""
import os

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CHECKOUT_TEMPLATES = os.path.join(REPO_ROOT, "templates")
CHECKOUT_STATIC = os.path.join(REPO_ROOT, "static")


def add_enabled_files(horizon_enabled_package):
    from evac_dashboard import enabled

    ours = enabled.__path__[0]
    if ours not in horizon_enabled_package.__path__:
        horizon_enabled_package.__path__.append(ours)


def checkout_asset_dirs():
    """The top-level templates/ and static/ folders when running from a checkout.

    An installed wheel carries them inside the package instead (see setup.py), where
    Django's app directories loader and Horizon's static finder find them.
    """
    if os.path.isdir(CHECKOUT_TEMPLATES):
        return [CHECKOUT_TEMPLATES], [CHECKOUT_STATIC]
    return [], []
