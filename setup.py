"""Packaging for evac-dashboard.

The top-level ``templates/`` and ``static/`` folders are copied into the package
(``evac_dashboard/templates`` and ``evac_dashboard/static``) when a wheel is built, so a
plain ``pip install .`` into a stock Horizon finds them through Django's app directories
loader and Horizon's static finder. In a checkout, the development and test settings point
at the top-level folders directly.
"""
import os
import shutil

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
        Babel (a Horizon dependency), so installing needs no system gettext."""
        from babel.messages.mofile import write_mo
        from babel.messages.pofile import read_po

        locale = os.path.join(HERE, "evac_dashboard", "locale")
        for lang in sorted(os.listdir(locale)) if os.path.isdir(locale) else ():
            messages = os.path.join(locale, lang, "LC_MESSAGES")
            for name in sorted(os.listdir(messages)) if os.path.isdir(messages) else ():
                if not name.endswith(".po"):
                    continue
                target = os.path.join(self.build_lib, "evac_dashboard", "locale", lang,
                                      "LC_MESSAGES")
                os.makedirs(target, exist_ok=True)
                with open(os.path.join(messages, name), "rb") as handle:
                    catalog = read_po(handle, locale=lang)
                # An untranslated plural would otherwise read as the English singular.
                for message in list(catalog)[1:]:
                    forms = (message.string if isinstance(message.string, (list, tuple))
                             else [message.string])
                    if not all(forms):
                        catalog.delete(message.id, message.context)
                with open(os.path.join(target, name[:-3] + ".mo"), "wb") as handle:
                    write_mo(handle, catalog, use_fuzzy=False)


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
