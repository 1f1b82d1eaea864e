"""Fixtures for the browser tests: a JupyterLab server on a temp copy of the notebooks, and headless Chromium.

Fixtures:
    jupyter_lab (session): the running server, a ``lab.Lab`` (url, token, root, env_file, data_dir, log,
        workspaces).
    lab (function): the same server, reset before the test (no kernels, no saved tabs); its kernels are
        shut down after it.
    browser (session): Debian's Chromium, launched by Playwright.
    browser_context (session): the pages' context (1400x1000); its HTTP cache spares each test reloading
        JupyterLab's scripts. JupyterLab keeps its state on the server, which ``lab`` resets.
    page (function): a fresh page in that context; screenshots go to the test's folder.
    kept_page (function): one page per test module, kept open from one of its tests to the next (tabs, kernels);
        the server is reset before the module and its kernels shut down after it.
    screenshot_root (session): the folder holding one sub-folder of screenshots per test.

Without a usable Chromium the tests are skipped, or fail when ``CI`` is set.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from fbfailover.config import is_setting
from tests.browser.lab import Lab, register_screenshot_dir, screenshot
from tests.ports import free_port

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
NOTEBOOKS = REPO / "notebooks"

CHROMIUM = Path("/usr/bin/chromium")
# Without the background-networking flags Chromium's own connections (updates, components, sync) are
# refused by a closed network and slow every launch. Playwright gives each launch a fresh profile dir.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SKIPPED = "browser tests skipped"
NOT_INSTALLED = (
    f"{SKIPPED}: Debian's chromium is not installed "
    "(run `make test` as root, or `apt-get install -y chromium`)"
)
SERVER_START_TIMEOUT = 60.0
EXPECT_TIMEOUT_MS = 30_000
VIEWPORT = {"width": 1400, "height": 1000}
LAB_SETTINGS = {
    # No news / update toast covering the notebook (and no request for it).
    "@jupyterlab/apputils-extension/notification": '{"fetchNews": "false", "checkForUpdates": false}\n',
    # Every cell stays in the DOM (the default today): a test's locators reach cells scrolled out of view.
    "@jupyterlab/notebook-extension/tracker": '{"windowingMode": "contentVisibility"}\n',
}

# The caller's settings (credentials, live URLs, numbers) and Jupyter paths never reach the server or
# kernels: notebooks run in offline sandbox mode, whatever the developer's shell holds.
DROPPED_PREFIXES = ("JUPYTER", "JPY_")

SCREENSHOT_DIR = pytest.StashKey[Path]()
CONSOLE = pytest.StashKey[list]()


# --- availability -------------------------------------------------------------------------------


def _unavailable(reason: str, detail: str = "") -> None:
    """Skips the browser tests, or fails them when running on CI (where a skip would hide a broken setup)."""
    if os.environ.get("CI"):
        pytest.fail(
            f"{reason.replace(SKIPPED, 'browser tests cannot run on CI')}{': ' + detail if detail else ''}",
            pytrace=False,
        )
    pytest.skip(reason)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Marks every test of this folder `browser`."""
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session", autouse=True)
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless. Autouse: decides for every test here whether browser tests can run."""
    if not CHROMIUM.exists():
        _unavailable(NOT_INSTALLED)
    playwright = None
    try:
        playwright = sync_playwright().start()
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
    except Exception as error:  # playwright raises its own Error; a broken driver raises others
        if playwright is not None:
            playwright.stop()
        lines = str(error).strip().splitlines() or [type(error).__name__]
        _unavailable(f"{SKIPPED}: {CHROMIUM} could not be launched ({lines[0]})", str(error))
    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    yield chromium
    chromium.close()
    playwright.stop()


@pytest.fixture(scope="session")
def screenshot_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder holding one sub-folder of screenshots per test."""
    return tmp_path_factory.mktemp("screenshots")


@pytest.fixture(scope="session")
def browser_context(browser: Browser) -> Iterator[BrowserContext]:
    """One context (1400x1000) for the session's pages: they share its HTTP cache, so JupyterLab's scripts are
    fetched and compiled once, not once per test."""
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(EXPECT_TIMEOUT_MS)
    yield context
    context.close()


@contextlib.contextmanager
def _watched(page: Page, screenshot_root: Path, request: pytest.FixtureRequest) -> Iterator[Page]:
    """While the test runs, ``lab.screenshot(page, name)`` writes into its folder and the page's console messages
    go to its failure report."""
    folder = screenshot_root / re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name)
    register_screenshot_dir(page, folder)
    request.node.stash[SCREENSHOT_DIR] = folder
    console: list[str] = []
    request.node.stash[CONSOLE] = console

    def on_console(message) -> None:
        console.append(f"{message.type}: {message.text}")

    def on_error(error) -> None:
        console.append(f"pageerror: {error}")

    page.on("console", on_console)
    page.on("pageerror", on_error)
    try:
        yield page
    finally:
        if not page.is_closed():
            page.remove_listener("console", on_console)
            page.remove_listener("pageerror", on_error)


@pytest.fixture
def page(browser_context: BrowserContext, screenshot_root: Path, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A fresh page per test; ``lab.screenshot(page, name)`` writes into the test's folder."""
    new_page = browser_context.new_page()
    with _watched(new_page, screenshot_root, request):
        yield new_page
    new_page.close()


@pytest.fixture(scope="module")
def _module_page(jupyter_lab: Lab, browser_context: BrowserContext) -> Iterator[Page]:
    """One page for all the tests of a module, on the session's server reset first (as ``lab`` does)."""
    try:
        jupyter_lab.reset()
    except OSError as error:
        pytest.fail(f"could not reset jupyter lab: {error}\n{_read_log(jupyter_lab.log)}", pytrace=False)
    kept = browser_context.new_page()
    yield kept
    kept.close()
    with contextlib.suppress(OSError):
        jupyter_lab.shutdown_kernels()


@pytest.fixture
def kept_page(_module_page: Page, screenshot_root: Path, request: pytest.FixtureRequest) -> Iterator[Page]:
    """The page of the test's module, kept open from one of its tests to the next, as a learner keeps one JupyterLab
    open from step to step; screenshots go to each test's folder. Its tests take ``jupyter_lab``, not ``lab``
    (whose reset would end kernels the page still shows), and close what they no longer need themselves
    (``lab.switch_notebook``)."""
    with _watched(_module_page, screenshot_root, request):
        yield _module_page


# --- JupyterLab ---------------------------------------------------------------------------------



def _server_environment(base: Path) -> dict[str, str]:
    """The caller's environment minus settings and Jupyter paths, plus fresh Jupyter and fbfailover dirs."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(DROPPED_PREFIXES) and not is_setting(key)
    }
    venv_bin = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join([venv_bin, env.get("PATH", "")])
    # Kernels start in the temp root: make the repository's package importable there, installed or not.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH", "")]))
    dirs = {
        "JUPYTER_CONFIG_DIR": base / "config",
        "JUPYTER_DATA_DIR": base / "data-jupyter",
        "JUPYTER_RUNTIME_DIR": base / "runtime",
        "JUPYTERLAB_SETTINGS_DIR": base / "settings",
        "JUPYTERLAB_WORKSPACES_DIR": base / "workspaces",
        "IPYTHONDIR": base / "ipython",
    }
    for name, path in dirs.items():
        path.mkdir(parents=True, exist_ok=True)
        env[name] = str(path)
    for plugin, settings in LAB_SETTINGS.items():
        path = dirs["JUPYTERLAB_SETTINGS_DIR"] / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(settings, encoding="utf-8")
    env["JUPYTER_PLATFORM_DIRS"] = "1"  # silences the "Jupyter is migrating its paths" warning in kernels
    env["FBFAILOVER_ENV_FILE"] = str(base / ".env")
    env["FBFAILOVER_DATA_DIR"] = str(base / "data")
    return env


def _read_log(log: Path, limit: int = 20_000) -> str:
    text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
    return text[-limit:]


def _start(
    command: list[str], env: dict[str, str], log: Path, url: str, token: str
) -> subprocess.Popen | None:
    """Starts the server and waits for ``/api/status``; returns None when it exits early (port taken)."""
    with log.open("ab") as sink:
        process = subprocess.Popen(
            command, env=env, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
        )
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return None
        try:
            with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2) as response:
                if response.status == 200:
                    return process
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)
    _stop(process)
    pytest.fail(
        f"jupyter lab did not answer within {SERVER_START_TIMEOUT:.0f} s; log:\n{_read_log(log)}",
        pytrace=False,
    )


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


@pytest.fixture(scope="session")
def jupyter_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """A JupyterLab server whose root is a temp copy of ``notebooks/``; the repository is never written to."""
    base = tmp_path_factory.mktemp("jupyter-lab")
    root = base / "notebooks"
    if NOTEBOOKS.is_dir():
        shutil.copytree(NOTEBOOKS, root, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    else:
        root.mkdir()
    env = _server_environment(base)
    (base / "data").mkdir()
    log = base / "jupyter-lab.log"
    token = secrets.token_hex(24)
    for _attempt in range(3):
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        command = [
            sys.executable, "-m", "jupyter", "lab",
            "--no-browser", "--allow-root", "--ip=127.0.0.1", f"--port={port}", "--port-retries=0",
            f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
            # window.jupyterapp: the tests wait on the notebook's and kernel's models (lab.py, lab.js), in
            # JupyterLab and in Notebook 7's UI, which the same server serves at /notebooks/ (test_active_learning.py).
            "--LabApp.expose_app_in_browser=True", "--JupyterNotebookApp.expose_app_in_browser=True",
        ]  # fmt: skip
        process = _start(command, env, log, url, token)
        if process is not None:
            break
    else:
        pytest.fail(f"jupyter lab exited before answering; log:\n{_read_log(log)}", pytrace=False)
    lab = Lab(
        url=url,
        token=token,
        root=root,
        env_file=Path(env["FBFAILOVER_ENV_FILE"]),
        data_dir=Path(env["FBFAILOVER_DATA_DIR"]),
        log=log,
        workspaces=Path(env["JUPYTERLAB_WORKSPACES_DIR"]),
    )
    try:
        yield lab
    finally:
        with contextlib.suppress(OSError):
            lab.shutdown_kernels()
        _stop(process)
        stop_project_sandbox_of(lab)


def stop_project_sandbox_of(server: Lab) -> None:
    """End the project's background sandbox the server's kernels started (``fbfailover sandbox --stop``).

    It outlives the kernels on purpose (every notebook of a project shares it); a test session ends it with the
    session rather than leaving it to its idle timeout.
    """
    from fbfailover.sandbox.instance import stop_project_sandbox

    stop_project_sandbox({"FBFAILOVER_DATA_DIR": str(server.data_dir)})


@pytest.fixture
def lab(jupyter_lab: Lab) -> Iterator[Lab]:
    """The session's JupyterLab, reset before the test (no kernels, no saved tabs); kernels end after it.

    The reset happens at setup because the previous test's page may save its layout until it is closed.
    """
    try:
        jupyter_lab.reset()
    except OSError as error:
        pytest.fail(f"could not reset jupyter lab: {error}\n{_read_log(jupyter_lab.log)}", pytrace=False)
    yield jupyter_lab
    try:
        jupyter_lab.shutdown_kernels()
    except OSError as error:
        pytest.fail(f"could not shut the kernels down: {error}\n{_read_log(jupyter_lab.log)}", pytrace=False)


# --- failure reports ----------------------------------------------------------------------------


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    """On failure: screenshot the page, then show the screenshot folder, console messages and server log."""
    report = yield
    if HERE not in item.path.parents:
        return report
    if report.skipped and isinstance(report.longrepr, tuple) and SKIPPED in str(report.longrepr[2]):
        # The same place for every test, so that `-ra` folds the skips into a single line.
        report.longrepr = (
            str(HERE / "conftest.py"),
            _unavailable.__code__.co_firstlineno,
            report.longrepr[2],
        )
    if not report.failed:
        return report
    funcargs = getattr(item, "funcargs", {})
    page = funcargs.get("page") or funcargs.get("kept_page")
    if page is not None and not page.is_closed():
        try:
            screenshot(page, f"failed-{report.when}")
        except Exception as error:  # a crashed page must not hide the test's own failure
            report.sections.append(("screenshot", f"could not take a screenshot: {error}"))
    folder = item.stash.get(SCREENSHOT_DIR, None)
    if folder is not None and folder.exists():
        shots = "\n".join(str(path) for path in sorted(folder.glob("*.png")))
        report.sections.append(("screenshots", shots))
        print(f"\nscreenshots of {item.nodeid}: {folder}", file=sys.stderr)
    console = item.stash.get(CONSOLE, None)
    if console:
        report.sections.append(("browser console", "\n".join(console[-50:])))
    server = funcargs.get("lab") or funcargs.get("jupyter_lab")
    if server is not None:
        report.sections.append(("jupyter lab log (tail)", _read_log(server.log, 5_000)))
    return report
