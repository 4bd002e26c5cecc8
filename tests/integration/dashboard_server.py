"""Run the development dashboard (manage.py runserver) against the local cloud, for tests."""
import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_http(url, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=10):
                return
        except urllib.error.HTTPError:
            return  # the server answers, even if with an error status
        except OSError:
            time.sleep(0.5)
    raise TimeoutError("dashboard did not answer at %s" % url)


def dashboard_env(run_dir, keystone_url, extra_env=None):
    """The environment of a dev-site ``manage.py`` run using ``run_dir`` and Keystone
    (DEBUG on unless ``extra_env`` says otherwise)."""
    env = dict(os.environ, EVAC_RUN_DIR=str(run_dir), EVAC_KEYSTONE_URL=keystone_url,
               EVAC_DEBUG="1", DJANGO_SETTINGS_MODULE="evac_dashboard.devsite.settings")
    env.update(extra_env or {})
    return env


@contextlib.contextmanager
def running_dashboard(run_dir, keystone_url, extra_env=None):
    """Yield the base URL of a dashboard using the given Keystone; stop it afterwards."""
    port = free_port()
    env = dashboard_env(run_dir, keystone_url, extra_env)
    manage = [sys.executable, os.path.join(REPO, "manage.py")]
    subprocess.run(manage + ["migrate", "--noinput", "-v", "0"], env=env, cwd=REPO,
                   check=True, timeout=300)
    log = open(os.path.join(str(run_dir), "runserver.log"), "w")
    process = subprocess.Popen(manage + ["runserver", "--noreload", "127.0.0.1:%d" % port],
                               env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
    url = "http://127.0.0.1:%d" % port
    try:
        wait_for_http(url + "/auth/login/")
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def login(browser, dashboard, user):
    """Log in through Horizon's login form (a real Keystone login) in a selenium browser."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(dashboard + "/auth/login/")
    WebDriverWait(browser, 120).until(EC.presence_of_element_located((By.ID, "id_username")))
    browser.find_element(By.ID, "id_username").send_keys(user["username"])
    browser.find_element(By.ID, "id_password").send_keys(user["password"])
    browser.find_element(By.ID, "loginBtn").click()
    WebDriverWait(browser, 120).until(lambda d: "/auth/login" not in d.current_url)
