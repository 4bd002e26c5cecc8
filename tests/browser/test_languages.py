"""The plugin's pages in Simplified Chinese and in Vietnamese, in Debian chromium.

For each language the user switches the way a Horizon user does: once through Horizon's
User Settings form (/settings/, the Language select), which sets the language cookie
(settings.LANGUAGE_COOKIE_NAME); the other scenes set that cookie directly. Vietnamese is in
LANGUAGES as the README tells operators to add it. The catalogs are compiled first (the .mo
are git-ignored), as ``make compilemessages`` does.

Each scene reuses the setup of the English browser test of the same page (its test class,
with its own English tests left out) and screenshots every page as
.artifacts/screenshots/<lang>-<page>.png. On every page:

* no English text of the plugin is left: none of the plugin's msgids (both catalogs,
  placeholders cut out, fixed parts of 12+ characters with a space) is in the visible text,
  except messages translated as themselves. Horizon's own texts (untranslated in Vietnamese)
  are not the plugin's and are not looked at;
* a few known texts are there in the language, read from the catalog (the panel group
  name, the page's title, ...).

Every page is screenshot before it is checked, and a scene reports all its pages' problems
at once. Buttons, labels and headings whose translated text overflows its box are listed (not
asserted) in .artifacts/screenshots/<lang>-<page>.overflow.txt beside the screenshot.
"""
import os
from unittest import mock

from django.conf import settings
from django.test import override_settings
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

from evac_dashboard.api import nova
from tests.browser import chromium
from tests.browser import scenes
from tests.browser import test_history_page
from tests.browser import test_hosts_page
from tests.browser import test_progress_page
from tests.browser import test_wizard_page
from tests.unit import factories
from tests.unit.fakes.nova import still_in_use

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not chromium.available(), reason="needs Debian chromium")]

WAIT = 60
# As the README tells operators: Horizon's list, and Vietnamese.
LANGUAGES = [(code, name) for code, name in settings.LANGUAGES if code != "vi"] + [
    ("vi", "Tiếng Việt")]


@pytest.fixture(scope="module", autouse=True)
def compiled_catalogs():
    """The .mo next to the .po (git-ignored, as make compilemessages leaves them). Django's
    translation caches are dropped by the LANGUAGES override of every scene (setting_changed),
    so even a process that had loaded the catalogs before reads the new ones."""
    compiled = scenes.compile_catalogs()
    assert compiled, "no catalogs under %s" % scenes.LOCALE
    return compiled


class LanguageScene:
    """Mixed in before an English browser test class: its setUp, helpers and fakes, none of
    its tests, and the page in ``LANG``."""
    __test__ = False   # the scenes run through their language subclasses below
    LANG = None
    VIA_FORM = False   # switch through Horizon's User Settings form, not the cookie
    # Texts the fakes' Nova reports (reasons, faults, refusals): data shown as Nova said
    # them, not the plugin's words, even where one is also a msgid ("fenced: evacuating",
    # the reason the plugin writes when it fences).
    NOVA_TEXTS = ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for name in dir(cls):
            if name.startswith("test") and getattr(getattr(cls, name), "__module__",
                                                    __name__) != __name__:
                setattr(cls, name, None)   # the English test of the base class: not here

    def setUp(self):
        super().setUp()
        self.problems = []
        self.sentences = scenes.plugin_sentences(self.LANG)
        if self.VIA_FORM:
            self._switch_in_user_settings()
        else:
            self.selenium.get(self.live_server_url + "/i18n/js/horizon/")
            self.selenium.delete_all_cookies()
            self.selenium.add_cookie({"name": settings.LANGUAGE_COOKIE_NAME,
                                      "value": self.LANG, "path": "/"})

    def _switch_in_user_settings(self):
        self.selenium.get(self.live_server_url + "/settings/")
        select = WebDriverWait(self.selenium, WAIT).until(
            EC.presence_of_element_located((By.NAME, "language")))
        form = select.find_element(By.XPATH, "./ancestor::form")
        # Horizon's theme styles the select: choose through the real element.
        self.selenium.execute_script(
            "arguments[0].value = arguments[1];"
            "arguments[0].dispatchEvent(new Event('change', {bubbles: true}));",
            select, self.LANG)
        self.assertEqual(self.LANG, Select(select).first_selected_option.get_attribute("value"))
        self.selenium.execute_script("arguments[0].click();",
                                     form.find_element(By.CSS_SELECTOR, "[type=submit]"))
        WebDriverWait(self.selenium, WAIT).until(
            lambda d: (d.get_cookie(settings.LANGUAGE_COOKIE_NAME) or {}).get("value")
            == self.LANG)

    # --- checks ------------------------------------------------------------------------
    def page(self, name, expect=(), screenshot=chromium.screenshot):
        """Screenshot the page as <lang>-<name>, then note (not raise) what is wrong."""
        screenshot(self.selenium, "%s-%s" % (self.LANG, name))
        text = self.selenium.find_element(By.TAG_NAME, "body").text
        # Buttons made of <input type=submit value=...>: shown, but not in the body's text.
        text += "\n" + "\n".join(self.selenium.execute_script(
            "return Array.from(document.querySelectorAll('input[type=submit], input[type=button]'))"
            ".filter(function (e) { return e.offsetParent; }).map(function (e) { return e.value; });"))
        data = text
        for said in self.NOVA_TEXTS:
            data = data.replace(said, " ")
        english = scenes.english_left(data, self.sentences)
        if english:
            self.problems.append("%s: English of the plugin left:\n    %s"
                                 % (name, "\n    ".join(english)))
        wide = self.overflowing()
        listing = os.path.join(chromium.ARTIFACTS, "screenshots",
                               "%s-%s.overflow.txt" % (self.LANG, name))
        if wide:
            with open(listing, "w", encoding="utf-8") as out:
                out.write("\n".join(wide) + "\n")
        elif os.path.exists(listing):
            os.remove(listing)
        seen = scenes.normal(text)
        for msgid in ("Evacuation",) + tuple(expect):   # the panel group name on every page
            parts = scenes.translated(msgid, self.LANG)
            if not parts:
                self.problems.append("%s: the %s catalog has no translation of %r"
                                     % (name, self.LANG, msgid))
            elif not all(scenes.normal(p) in seen for p in parts):
                self.problems.append("%s: %r is not shown as %r" % (name, msgid, parts))

    def overflowing(self):
        """Buttons, labels, headings and menu entries whose text is wider than their box (a
        longer translation): not asserted, listed for whoever looks at the screenshots."""
        return self.selenium.execute_script("""
            var out = [];
            document.querySelectorAll('button, .btn, th, label, .nav a, .breadcrumb li,'
                                      + ' .page-header h1, .modal-title').forEach(
                function (e) {
                    if (!e.offsetParent || !e.clientWidth) { return; }
                    if (e.scrollWidth > e.clientWidth + 1) {
                        out.push(e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + ' "'
                                 + e.innerText.trim().slice(0, 80) + '" '
                                 + e.scrollWidth + '>' + e.clientWidth);
                    }
                });
            return out;""")

    def assert_no_problems(self):
        self.assertFalse(self.problems, "\n".join(self.problems))


# --- the scenes, each on the setup of the English test of its page ---------------------
class HostsScene(LanguageScene, test_hosts_page.HostsPageBrowserTests):
    VIA_FORM = True
    NOVA_TEXTS = ("fenced: PSU failure", "maintenance")

    def test_compute_hosts_and_evacuate_modal(self):
        self.selenium.get(self.live_server_url + "/admin/evac_hosts/")
        self._wait_for_table("compute_hosts")
        self.page("compute-hosts", expect=("Compute Hosts",))
        # The modal of test_evacuate_modal_lists_in_sending_order_and_warns_without_target.
        services, _hypervisors = test_hosts_page.demo_cloud()
        mock.patch.object(nova, "service_get", return_value=services[2]).start()
        mock.patch.object(nova, "servers_on_host", return_value=[
            factories.server("web-1", "cmp3"), factories.server("app-1", "cmp3"),
            factories.server("db-1", "cmp3", volume_backed=True,
                             metadata={"evac:restart_priority": "100"})]).start()
        row = self.selenium.find_element(By.ID, "compute_hosts__row__cmp3")
        row.find_element(By.ID, "compute_hosts__row_cmp3__action_evacuate_host").click()
        WebDriverWait(self.selenium, WAIT).until(
            EC.visibility_of_element_located((By.ID, "evac_evacuate_host_modal")))
        self.page("evacuate-host-modal", expect=("Evacuate all instances",))
        self.assert_no_problems()


class WizardScene(LanguageScene, test_wizard_page.WizardBrowserTests):
    NOVA_TEXTS = ("fenced: evacuating",)

    def test_wizard_steps(self):
        self.selenium.get(self.live_server_url + "/admin/evac_hosts/cmp1/wizard/")
        self._check("input[name='fenced']")
        self.page("wizard-1-host", expect=("Evacuate host %s",))
        self._next()
        self._wait_visible("[data-evac-select='all']").click()
        self.page("wizard-2-instances")
        self._next()
        self._wait_visible("#evac-capacity-preview")
        WebDriverWait(self.selenium, WAIT).until(lambda d: d.execute_script(
            "var p = document.getElementById('evac-capacity-preview');"
            "return !p.hasAttribute('aria-busy') && !!p.querySelector(':not(p.evac-reason)');"))
        self.page("wizard-3-targets")
        self._next()
        self._wait_visible("input[name='password']")
        self.page("wizard-4-options")
        self._next()
        self._wait_visible("#evac-wizard-summary")
        self._check("input[name='confirm']")
        self._check("input[name='acknowledge_local_disks']")
        self.page("wizard-5-confirm")
        self.assert_no_problems()


class ProgressScene(LanguageScene, test_progress_page.ProgressPageBrowserTests):
    NOVA_TEXTS = (still_in_use("cmp7")[1],
                  "No valid host was found. There are not enough hosts available.")

    def test_progress_mid_batch_and_final(self):
        batch = self._batch(6, refuse=(4,))
        items = list(batch.items.order_by("position"))
        ids = [i.instance_id for i in items]
        self._open(batch)
        for index in (0, 1, 2, 3, 5):
            self.nova.step(ids[index], to=2)
        self._wait(lambda: all(self._row_attr(items[i], "data-label")
                               == "rebuild_block_device_mapping" for i in (0, 1, 2, 3, 5)),
                   "at the volumes step")
        shot = test_progress_page.full_screenshot
        self.page("progress-mid-batch", expect=("Evacuation of {{ batch.source_host }}",),
                  screenshot=shot)
        self.nova.fail(ids[3])
        self.nova.finish_all()
        self._wait(lambda: self._count("done") == 4 and self._count("failed") == 2, "final")
        self._wait(lambda: self._root("data-poll-state") == "stopped", "stopped")
        self.page("progress-final", expect=("Evacuation of {{ batch.source_host }}",),
                  screenshot=shot)
        self.assert_no_problems()


class HistoryScene(LanguageScene, test_history_page.HistoryPageBrowserTests):
    NOVA_TEXTS = ("fenced: PSU failure",
                  "Cannot 'evacuate' instance while it is in vm_state paused",
                  "Unable to force up host cmp2 as `done` evacuation migration records remain")

    @override_settings(EVAC_AUDIT_SYNC_SECONDS=0)
    def test_history(self):
        test_history_page.outage_story()
        self.selenium.get(self.live_server_url + "/admin/evac_history/")
        WebDriverWait(self.selenium, WAIT).until(
            lambda d: len(d.find_elements(By.CSS_SELECTOR, "#history tbody tr")) == 6)
        self.page("history", expect=("Evacuation History",))
        self.assert_no_problems()


# --- every scene in every language ------------------------------------------------------
SCENES = (HostsScene, WizardScene, ProgressScene, HistoryScene)
for _lang, _title in (("zh-hans", "Chinese"), ("vi", "Vietnamese")):
    for _scene in SCENES:
        _name = "%s%s" % (_title, _scene.__name__)
        globals()[_name] = override_settings(LANGUAGES=LANGUAGES)(
            type(_name, (_scene,), {"LANG": _lang, "__test__": True, "__module__": __name__}))
del _lang, _title, _scene, _name
