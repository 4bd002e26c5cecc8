"""Packaging for evac-dashboard.

The top-level ``templates/`` and ``static/`` folders are copied into the package
(``evac_dashboard/templates`` and ``evac_dashboard/static``) when a wheel is built, so a
plain ``pip install .`` into a stock Horizon finds them through Django's app directories
loader and Horizon's static finder. In a checkout, the development and test settings point
at the top-level folders directly.
"""
import os
import shutil
import sys

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))
ASSET_DIRS = ("templates", "static")


class BuildPyWithAssets(build_py):
    """build_py that also copies the top-level asset folders into the package."""

    def run(self):
        super().run()
        for name in ASSET_DIRS:
            source = os.path.join(HERE, name)
            target = os.path.join(self.build_lib, "evac_dashboard", name)
            if os.path.isdir(source):
                shutil.copytree(source, target, dirs_exist_ok=True)
        self.compile_catalogs()

    def compile_catalogs(self):
        """Every evac_dashboard/locale/*/LC_MESSAGES/*.po as .mo next to its copy, with
        Babel (a Horizon dependency), so installing needs no system gettext. The same
        compiler as ``make compilemessages`` (tools/catalogs.py, in the sdist too)."""
        sys.path.insert(0, os.path.join(HERE, "tools"))
        try:
            import catalogs
        finally:
            sys.path.pop(0)
        for path in catalogs.catalogs():
            catalogs.compile_catalog(path, os.path.join(
                self.build_lib, os.path.relpath(str(path.with_suffix(".mo")), HERE)))


def read(name):
    with open(os.path.join(HERE, name), encoding="utf-8") as handle:
        return handle.read()


setup(
    name="evac-dashboard",
    version="0.1.0",
    description="Horizon plugin to evacuate instances off failed compute hosts",
    long_description=read("README.md"),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.11",
    packages=find_packages(include=["evac_dashboard", "evac_dashboard.*"]),
    package_data={
        "evac_dashboard": ["localcloud/*.txt", "localcloud/runtime/*.py",
                           "locale/*/LC_MESSAGES/*.po", "locale/*/LC_MESSAGES/*.mo"],
    },
    include_package_data=False,
    cmdclass={"build_py": BuildPyWithAssets},
    install_requires=[
        "horizon>=27.0.0,<27.1",
        "Django>=5.2,<5.3",
        "python-novaclient>=18.13",
        "django-compressor>=4.4",
        "tooz>=6.0",
        # Fencing through the hosts' BMCs (EVAC_BMC_FILE): Redfish and IPMI.
        "sushy>=5.0",
        "pyghmi>=1.5",
        "PyYAML>=6.0",
    ],
    extras_require={
        "test": [
            "pytest>=8",
            "pytest-django>=4.8",
            "selenium>=4.20",
            "PyMySQL>=1.1",
            "import-linter>=2.0",
            "hypothesis>=6.100",
            "pymemcache>=4.0",
            # The Redfish BMC emulator the fencing tests talk to (fake systems driver).
            "sushy-tools>=2.0",
        ],
        "mysql": ["PyMySQL>=1.1"],
    },
    classifiers=[
        "Environment :: OpenStack",
        "Framework :: Django",
        "Programming Language :: Python :: 3",
    ],
)
