"""Helpers that drive JupyterLab in Chromium: open a notebook, run it, find widgets, take screenshots.

Every helper takes the Playwright ``Page`` first. Waits use the status bar's kernel status, not the notebook's
execution indicator: the indicator reads idle before the kernel is connected, and a "Select Kernel" dialog can
still follow.
"""

from __future__ import annotations

import json
import re
import time
import urllib.parse
import urllib.request
import weakref
from dataclasses import dataclass
from pathlib import Path

import nbformat
from playwright.sync_api import Locator, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

DEFAULT_TIMEOUT = 30.0  # seconds; matches the `expect` default set in conftest.py
BUSY_WORDS = ("No Kernel", "Connecting", "Initializing", "Starting", "Restarting", "Busy", "Unknown")
ACTIVE_NOTEBOOK = ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook"

# Screenshot folder per page, registered by the `page` fixture (a page lives for one test).
_screenshot_dirs: weakref.WeakKeyDictionary[Page, Path] = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class Lab:
    """A running JupyterLab server.

    Attributes:
        url: base URL, ``http://127.0.0.1:PORT`` (no trailing slash).
        token: the server's token.
        root: the server's root directory, a temp copy of the repository's ``notebooks/``.
        env_file: value of ``FBFAILOVER_ENV_FILE`` in the server's (and kernels') environment.
        data_dir: value of ``FBFAILOVER_DATA_DIR`` in the server's (and kernels') environment.
        log: file receiving the server's stdout and stderr.
        workspaces: the server's ``JUPYTERLAB_WORKSPACES_DIR`` (open tabs and layout, saved by the page).
    """

    url: str
    token: str
    root: Path
    env_file: Path
    data_dir: Path
    log: Path
    workspaces: Path

    def notebook_url(self, name: str) -> str:
        """Returns the URL opening notebook ``name`` (relative to ``root``) in JupyterLab."""
        return f"{self.url}/lab/tree/{urllib.parse.quote(name)}?token={self.token}"

    def api(self, method: str, path: str, timeout: float = 10.0):
        """Calls the REST API (``path`` like ``/api/sessions``); returns the decoded JSON, or None."""
        request = urllib.request.Request(
            f"{self.url}{path}", method=method, headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
        return json.loads(body) if body else None

    def shutdown_kernels(self) -> None:
        """Ends every session and kernel, so the next test starts from a fresh kernel."""
        for session in self.api("GET", "/api/sessions") or []:
            self.api("DELETE", f"/api/sessions/{session['id']}")
        for kernel in self.api("GET", "/api/kernels") or []:
            self.api("DELETE", f"/api/kernels/{kernel['id']}")

    def reset(self) -> None:
        """Shuts every kernel down and forgets the saved layout: a page opens only the notebook it asks for.

        Without this, JupyterLab restores the previous test's tabs from the default workspace and starts
        their kernels too.
        """
        self.shutdown_kernels()
        for workspace in self.workspaces.glob("*.jupyterlab-workspace"):
            workspace.unlink(missing_ok=True)

    def write_notebook(self, name: str, *sources: str) -> Path:
        """Writes a notebook of code cells (one per source) into ``root`` and returns its path."""
        notebook = nbformat.v4.new_notebook()
        notebook.metadata["kernelspec"] = {
            "name": "python3",
            "display_name": "Python 3 (ipykernel)",
            "language": "python",
        }
        notebook.cells = [nbformat.v4.new_code_cell(source) for source in sources]
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, path)
        return path


def open_notebook(page: Page, lab: Lab, name: str, *, timeout: float = DEFAULT_TIMEOUT) -> Locator:
    """Opens notebook ``name`` and waits until its kernel is idle.

    Returns:
        The locator of the notebook (``.jp-Notebook``).
    """
    page.goto(lab.notebook_url(name))
    notebook = page.locator(ACTIVE_NOTEBOOK)
    expect(notebook).to_be_visible(timeout=timeout * 1000)
    wait_for_kernel_idle(page, timeout=timeout)
    return notebook


def dismiss_kernel_dialog(page: Page) -> bool:
    """Accepts a "Select Kernel" dialog (the default, Python 3) when one shows; returns whether one did.

    Other dialogs are left open: they are a finding, and the failure screenshot shows them.
    """
    dialog = page.locator(".jp-Dialog", has_text="Select Kernel")
    if dialog.count() == 0 or not dialog.first.is_visible():
        return False
    try:
        dialog.first.locator(".jp-mod-accept").first.click(timeout=2_000)
    except PlaywrightTimeoutError:  # closed on its own meanwhile
        return False
    return True


def kernel_status(page: Page) -> str:
    """Returns the status bar's text (kernel name and status, among others)."""
    statusbar = page.locator("#jp-main-statusbar")
    return statusbar.inner_text() if statusbar.count() else ""


def _is_idle(status: str) -> bool:
    return "Idle" in status and not any(word in status for word in BUSY_WORDS)


def _kernel_idle(page: Page) -> bool:
    return _is_idle(kernel_status(page))


def wait_for_kernel_idle(page: Page, *, timeout: float = DEFAULT_TIMEOUT) -> None:
    """Waits until the status bar shows the kernel connected and idle, accepting any kernel dialog on the way.

    Raises:
        TimeoutError: Raised when the kernel is not idle within ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        dismiss_kernel_dialog(page)
        text = kernel_status(page)
        if _is_idle(text):
            return
        page.wait_for_timeout(100)
    raise TimeoutError(f"kernel not idle after {timeout:.0f} s; status bar reads {text!r}")


def _menu(page: Page, menu: str, command: str) -> None:
    page.locator(".lm-MenuBar-item", has_text=re.compile(rf"^{menu}$")).click()
    page.locator(f'.lm-Menu-item[data-command="{command}"]').click()


def run_all(page: Page, *, clear_outputs: bool = True) -> None:
    """Runs every cell through the menu Run > Run All Cells.

    Args:
        clear_outputs: first clear every output and execution count (Edit > Clear Outputs of All Cells).
            A notebook committed with outputs opens with ``[1]`` ... ``[n]`` already showing, which a fresh
            run reproduces exactly: without the clear, ``wait_until_executed`` could not tell them apart.
    """
    if clear_outputs:
        _menu(page, "Edit", "editmenu:clear-all")
    _menu(page, "Run", "runmenu:run-all")


# For each non-empty code cell, its prompt: "[3]:" once run, "[*]:" while queued or running, "[ ]:" never run
# (or skipped after an earlier cell failed). null until the notebook's cells are in the page.
# textContent, not innerText: cells scrolled out of view are not laid out but are in the DOM (the default
# windowing mode "contentVisibility", pinned in conftest.py, keeps every cell attached). A cell whose source is
# hidden (a solution to reveal) shows no input prompt: its output prompt carries the count instead.
_PROMPTS_JS = """
() => {
  const notebook = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook');
  if (!notebook || !notebook.querySelector('.jp-Cell')) return null;
  return Array.from(notebook.querySelectorAll('.jp-CodeCell'))
    .filter(cell => (cell.querySelector('.cm-content')?.textContent ?? 'x').trim() !== '')
    .map(cell => (cell.querySelector('.jp-InputPrompt')?.textContent.trim()
                  || cell.querySelector('.jp-OutputPrompt')?.textContent.trim() || ''));
}
"""
_NUMBERED = re.compile(r"\[\d+\]:?")


def execution_prompts(page: Page) -> list[str] | None:
    """Returns the input prompts of the open notebook's non-empty code cells, like ``["[1]:", "[*]:"]``.

    None while the notebook has no cells in the page yet.
    """
    return page.evaluate(_PROMPTS_JS)


def wait_until_executed(page: Page, *, timeout: float = DEFAULT_TIMEOUT) -> None:
    """Waits until every non-empty code cell shows an execution count and the kernel is idle.

    Meant to follow ``run_all``: JupyterLab marks every cell ``[*]`` as soon as Run All is chosen, so "all
    numbered" cannot be seen between two cells of the run.

    Raises:
        AssertionError: Raised when the run stopped early (a cell raised; later cells stay ``[ ]``).
        TimeoutError: Raised when the notebook has not finished within ``timeout`` seconds.
    """
    start = time.monotonic()
    deadline = start + timeout
    prompts: list[str] | None = None
    seen_running = False
    while time.monotonic() < deadline:
        prompts = execution_prompts(page)
        if prompts is not None:
            if all(_NUMBERED.fullmatch(p) for p in prompts):
                wait_for_kernel_idle(page, timeout=max(deadline - time.monotonic(), 1.0))
                return
            running = any("*" in p for p in prompts)
            seen_running = seen_running or running
            if not running and (seen_running or time.monotonic() - start > 2.0) and _kernel_idle(page):
                errors = "\n".join(stderr_outputs(page).all_text_contents())
                raise AssertionError(f"the run stopped before the last cell; prompts: {prompts}\n{errors}")
        dismiss_kernel_dialog(page)
        page.wait_for_timeout(100)
    raise TimeoutError(f"notebook not executed after {timeout:.0f} s; prompts: {prompts}")


def run_new_cell(page: Page, source: str, *, timeout: float = DEFAULT_TIMEOUT) -> Locator:
    """Adds a code cell holding ``source`` at the end of the open notebook, runs it, and waits for its count.

    The cell is added with the notebook toolbar's "insert below" button after selecting the last cell, its
    text is inserted as if pasted (no auto-closed brackets), and it is run with Ctrl+Enter (run in place).

    Returns:
        The new cell (``.jp-CodeCell``); its outputs are ``.jp-OutputArea-output`` inside.

    Raises:
        AssertionError: Raised when the cell has no execution count within ``timeout`` seconds.
    """
    notebook = page.locator(ACTIVE_NOTEBOOK)
    cells = notebook.locator(".jp-Cell")
    index = cells.count()
    cells.last.locator(".jp-InputPrompt").click()
    page.locator(
        '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-NotebookPanel-toolbar [data-command="notebook:insert-cell-below"]'
    ).click()
    cell = cells.nth(index)
    expect(cell).to_have_class(re.compile(r"\bjp-CodeCell\b"))
    cell.locator(".cm-content").click()
    page.keyboard.insert_text(source)
    expect(cell.locator(".cm-content")).to_contain_text(source.splitlines()[0].strip())
    page.keyboard.press("Control+Enter")
    expect(cell.locator(".jp-InputPrompt")).to_have_text(_NUMBERED, timeout=timeout * 1000)
    wait_for_kernel_idle(page, timeout=timeout)
    return cell


def widget(page: Page, css_class: str) -> Locator:
    """Returns the widget(s) carrying ``css_class``, set in the notebook with ``widget.add_class(css_class)``.

    ipywidgets puts the class on the widget's outer node: for a ``Text`` use ``widget_input`` to reach its
    ``<input>``; for an ``Output`` its text is in ``.jp-OutputArea-output`` inside.
    """
    return page.locator(f".{css_class}")


def widget_input(page: Page, css_class: str) -> Locator:
    """Returns the ``<input>`` or ``<textarea>`` inside the text-like widget carrying ``css_class``."""
    return widget(page, css_class).locator("input, textarea")


def stderr_outputs(page: Page) -> Locator:
    """Returns the open notebook's stderr outputs; tracebacks are rendered as stderr too."""
    return page.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')


def register_screenshot_dir(page: Page, directory: Path) -> None:
    """Makes ``screenshot(page, ...)`` write into ``directory`` (done by the ``page`` fixture)."""
    _screenshot_dirs[page] = directory


def screenshot(page: Page, name: str) -> Path:
    """Saves a full-page PNG named ``name`` into the test's screenshot folder and returns its path."""
    directory = _screenshot_dirs.get(page)
    if directory is None:
        raise RuntimeError("screenshot() needs a page from the `page` fixture")
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{re.sub(r'[^A-Za-z0-9_.-]+', '-', name)}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
