"""Helpers that drive JupyterLab in Chromium: open a notebook, run it, find widgets, take screenshots.

Every helper takes the Playwright ``Page`` first. Waits read JupyterLab's own state, never how the page looks: the
server exposes the app as ``window.jupyterapp`` (conftest.py starts it with ``--LabApp.expose_app_in_browser``),
and ``lab.js`` reads the open notebook's cell models (execution counts, execution states, outputs) and its
session's kernel (status, connection) from there. Clicks and typing go through the page, as a learner's do.
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
from typing import Any

import nbformat
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Locator, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

DEFAULT_TIMEOUT = 30.0  # seconds; matches the `expect` default set in conftest.py
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
        ui: ``"lab"`` (JupyterLab) or ``"notebook"`` (Jupyter Notebook 7, built on the same application framework:
            the same models, menus and commands, one notebook per page).
    """

    url: str
    token: str
    root: Path
    env_file: Path
    data_dir: Path
    log: Path
    workspaces: Path
    ui: str = "lab"

    def notebook_url(self, name: str) -> str:
        """Returns the URL opening notebook ``name`` (relative to ``root``) in this server's UI."""
        where = "notebooks" if self.ui == "notebook" else "lab/tree"
        return f"{self.url}/{where}/{urllib.parse.quote(name)}?token={self.token}"

    def api(self, method: str, path: str, body: object = None, timeout: float = 10.0):
        """Calls the REST API (``path`` like ``/api/sessions``, ``body`` sent as JSON); returns the decoded JSON."""
        request = urllib.request.Request(
            f"{self.url}{path}",
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
        return json.loads(body) if body else None

    def start_session(self, name: str) -> str:
        """Starts notebook ``name``'s session, with a kernel of the notebook's kernelspec, and returns the kernel's id.

        The same request the page makes when it opens a notebook with no session (``POST /api/sessions``); a page
        opened afterwards attaches to this session, as one does when a learner reopens a notebook whose kernel runs.
        """
        kernelspec = nbformat.read(self.root / name, as_version=4).metadata.get("kernelspec", {})
        session = self.api("POST", "/api/sessions", {
            "path": name, "name": Path(name).name, "type": "notebook",
            "kernel": {"name": kernelspec.get("name", "python3")},
        })  # fmt: skip
        return session["kernel"]["id"]

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


# --- JupyterLab's state, read in the page -------------------------------------------------------------------

# Evaluated once per page (again after a navigation): defines `window.fbfLab`, whose functions read the notebook and
# kernel models through `window.jupyterapp`.
_LAB_JS = (Path(__file__).with_name("lab.js")).read_text(encoding="utf-8")
_INSTALL = f"if (!window.fbfLab) {{\n{_LAB_JS}\n}}"
POLL_MS = 50  # how often a wait re-reads the models in the page


def _read(page: Page, call: str, arg: object = None) -> dict:
    """Returns ``window.fbfLab.<call>`` evaluated in the page, ``arg`` bound to ``arg``."""
    return page.evaluate(f"(arg) => {{ {_INSTALL}\n return window.fbfLab.{call}; }}", arg)


def _wait(page: Page, call: str, condition: str, *, arg: object = None, timeout: float, what: str) -> dict:
    """Waits until JS ``condition`` holds for ``s = window.fbfLab.<call>`` and returns ``s``.

    The models are re-read in the page every ``POLL_MS`` ms. A "Select Kernel" dialog met on the way is accepted
    (the default kernel), as a learner would.

    Raises:
        TimeoutError: Raised when ``condition`` does not hold within ``timeout`` seconds; says what the state was.
    """
    deadline = time.monotonic() + timeout
    script = f"""(arg) => {{ {_INSTALL}
      const s = window.fbfLab.{call};
      const met = Boolean({condition});
      const dialog = !met && (s.dialogs ?? []).some(d => d.includes('Select Kernel'));
      return met || dialog ? {{ met, s }} : null;
    }}"""
    while True:
        remaining = deadline - time.monotonic()
        try:
            if remaining <= 0:
                raise PlaywrightTimeoutError("deadline passed")
            handle = page.wait_for_function(script, arg=arg, polling=POLL_MS, timeout=remaining * 1000)
        except PlaywrightTimeoutError:
            raise TimeoutError(f"{what}: not within {timeout:.0f} s; {_describe(_read(page, call, arg))}") from None
        except PlaywrightError as error:
            # JupyterLab reloaded the page (it moves a second window of a browser to a workspace of its own):
            # the new page is read from the start.
            if "context was destroyed" in str(error) or "navigat" in str(error):
                continue
            raise
        found = handle.json_value()
        handle.dispose()
        if found["met"]:
            return found["s"]
        dismiss_kernel_dialog(page)


def _describe(state: dict) -> str:
    """The parts of a state that explain a wait's failure, on one line."""
    if not state.get("open", state.get("found", True)):
        return f"no notebook open; dialogs: {state.get('dialogs')}"
    kernel = state.get("kernel") or {}
    parts = [f"kernel {kernel.get('status')!r} ({kernel.get('connection')}, ready={kernel.get('ready')})"]
    if "prompts" in state:
        parts.append(f"{state['executed']} of {state['cells']} code cells executed in this run; "
                     f"prompts {state['prompts']}")
    if "count" in state:
        parts.append(f"cell {state['index']} count {state['count']}, running={state['running']}, "
                     f"source {state['source'][:60]!r}")
    if state.get("dialogs"):
        parts.append(f"dialogs {state['dialogs']}")
    return "; ".join(parts)


def _problem_text(problems: list[dict]) -> str:
    return "\n".join(f"cell {p['index']} ({p['kind']}):\n{p['text']}" for p in problems)


# --- opening and running notebooks --------------------------------------------------------------------------


def open_notebook(
    page: Page, lab: Lab, name: str, *, start_kernel: bool = True, timeout: float = DEFAULT_TIMEOUT
) -> Locator:
    """Opens notebook ``name`` and waits until its kernel is idle (a "Select Kernel" dialog is accepted).

    Args:
        start_kernel: start the notebook's session and kernel through the server's REST API first
            (``Lab.start_session``, the request the page itself would make), so that the kernel boots while the page
            loads; the page then attaches to it. False: the page starts the kernel, as on a first open
            (``test_smoke.py`` takes that path).

    Returns:
        The locator of the notebook (``.jp-Notebook``).
    """
    if start_kernel:
        lab.start_session(name)
    page.goto(lab.notebook_url(name))
    _wait(page, "kernelState(arg)", "s.open && s.kernel.idle", arg=name, timeout=timeout,
          what=f"the kernel of {name} to be idle")
    _read(page, "activate(arg)", name)
    notebook = page.locator(ACTIVE_NOTEBOOK)
    expect(notebook).to_be_visible(timeout=timeout * 1000)
    return notebook


def open_from_file_browser(page: Page, name: str, *, timeout: float = DEFAULT_TIMEOUT) -> Locator:
    """Opens notebook ``name`` in a new tab of the JupyterLab page already open, as a learner does: a double click on
    its name in the file browser. The page starts its kernel, or attaches to the session ``Lab.start_session``
    started. Waits until it is the current tab, its kernel idle.

    Returns:
        The locator of the current notebook (``.jp-Notebook``).
    """
    page.locator(".jp-DirListing-item", has_text=name).dblclick()
    return _wait_current(page, name, timeout)


def close_notebooks(page: Page, lab: Lab, *, timeout: float = DEFAULT_TIMEOUT) -> None:
    """Closes every tab of the page (``application:close-all``, File > Close All Tabs) and shuts the server's kernels
    down. Asked whether to save a notebook's changes, it chooses Discard, as a learner who ran a tutorial does.
    Waits until no notebook is open in the page."""
    page.evaluate("() => { window.jupyterapp.commands.execute('application:close-all'); }")  # a dialog may wait
    while True:
        state = _wait(page, "openNotebooks()",
                      "s.paths.length === 0 || s.dialogs.some(d => d.startsWith('Save your work'))",
                      timeout=timeout, what="the notebooks to close")
        if not state["paths"]:
            break
        page.locator(".jp-Dialog", has_text="Save your work").locator("button", has_text="Discard").click()
    lab.shutdown_kernels()


def switch_notebook(page: Page, lab: Lab, name: str, *, timeout: float = DEFAULT_TIMEOUT) -> Locator:
    """Opens notebook ``name`` in ``page``, in place of the notebooks open there, as a learner going on to the next
    step: their tabs close and their kernels end (``close_notebooks``), then ``name`` opens from the file browser,
    its kernel started first (``Lab.start_session``). A page without JupyterLab loads it (``open_notebook``).

    Returns:
        The locator of the notebook (``.jp-Notebook``).
    """
    if not _read(page, "openNotebooks()")["loaded"]:
        return open_notebook(page, lab, name, timeout=timeout)
    close_notebooks(page, lab, timeout=timeout)
    lab.start_session(name)
    return open_from_file_browser(page, name, timeout=timeout)


def show_tab(page: Page, name: str, *, timeout: float = DEFAULT_TIMEOUT) -> Locator:
    """Makes ``name``'s tab the current one with a click on it; waits until it is current with its kernel idle.

    Returns:
        The locator of the current notebook (``.jp-Notebook``).
    """
    page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text=name).first.click()
    return _wait_current(page, name, timeout)


def _wait_current(page: Page, name: str, timeout: float) -> Locator:
    _wait(page, "kernelState()", "s.open && s.path === arg && s.kernel.idle", arg=name, timeout=timeout,
          what=f"{name} to be the current notebook, its kernel idle")
    notebook = page.locator(ACTIVE_NOTEBOOK)
    expect(notebook).to_be_visible(timeout=timeout * 1000)
    return notebook


def dismiss_kernel_dialog(page: Page) -> bool:
    """Accepts a "Select Kernel" dialog (the default, Python 3) when one shows; returns whether one did.

    Other dialogs are left open: they are a finding, and the failure screenshot shows them.
    """
    dialog = page.locator(".jp-Dialog", has_text="Select Kernel")
    if dialog.count() == 0:
        return False
    try:
        dialog.first.locator(".jp-mod-accept").first.click(timeout=5_000)
    except PlaywrightTimeoutError:  # closed on its own meanwhile
        return False
    return True


def kernel_status(page: Page) -> str:
    """Returns the open notebook's kernel status as its session knows it (``"idle"``, ``"busy"``, ``"starting"``...)."""
    state = _read(page, "kernelState()")
    return state["kernel"]["status"] if state["open"] else "no notebook"


def wait_for_kernel_idle(page: Page, *, timeout: float = DEFAULT_TIMEOUT) -> None:
    """Waits until the open notebook's kernel is connected and idle, accepting a "Select Kernel" dialog on the way.

    Raises:
        TimeoutError: Raised when the kernel is not idle within ``timeout`` seconds.
    """
    _wait(page, "kernelState()", "s.open && s.kernel.idle", timeout=timeout, what="the kernel to be idle")


def _menu(page: Page, menu: str, command: str) -> None:
    page.locator(".lm-MenuBar-item", has_text=re.compile(rf"^{menu}$")).click()
    page.locator(f'.lm-Menu-item[data-command="{command}"]').click()


def run_all(page: Page, *, clear_outputs: bool = True, timeout: float = DEFAULT_TIMEOUT) -> None:
    """Runs every cell through the menu Run > Run All Cells; ``wait_until_executed`` then waits for the run.

    Before the click, every code cell's model is watched: the run's counts are the ones set after it, so an output
    kept from before (committed with the notebook, or an earlier run) never passes for this run's.

    Args:
        clear_outputs: first clear every output and execution count (Edit > Clear Outputs of All Cells), and wait
            until the models show none, so the page shows only this run's results.
    """
    if clear_outputs:
        _menu(page, "Edit", "editmenu:clear-all")
        _wait(page, "runState()", "s.open && s.prompts.every(p => p === '[ ]:')", timeout=timeout,
              what="the outputs to be cleared")
    _read(page, "startRun()")
    _menu(page, "Run", "runmenu:run-all")


def execution_prompts(page: Page) -> list[str] | None:
    """Returns the prompts of the open notebook's non-empty code cells, like ``["[1]:", "[*]:", "[ ]:"]``.

    Read from the cell models (``[*]`` running, ``[ ]`` not run), whether or not a cell's source is shown. None
    while no notebook is open.
    """
    state = _read(page, "runState()")
    return state["prompts"] if state["open"] else None


def wait_until_executed(page: Page, *, timeout: float = DEFAULT_TIMEOUT) -> dict:
    """Waits until the run ``run_all`` started has finished: read from the notebook's models, not the page.

    Finished means: every non-empty code cell holds the execution count this run gave it, none is running, and
    the kernel is connected and idle. A count arrives once the kernel has replied and reported idle for that cell,
    so its outputs are in the model by then; a kernel idle between two cells finishes nothing.

    Returns:
        The run's state: ``cells``, ``executed``, ``prompts`` and ``problems`` (stderr outputs of the run's
        cells, ``{"index", "kind", "text"}``).

    Raises:
        AssertionError: Raised as soon as a cell holds an error output (JupyterLab then skips the cells after it),
            with the error's text, or when the kernel died.
        TimeoutError: Raised when the run has not finished within ``timeout`` seconds.
    """
    state = _wait(page, "runState()",
                  "s.open && (s.done || s.kernel.status === 'dead' || s.problems.some(p => p.kind === 'error'))",
                  timeout=timeout, what="Run All to finish")
    errors = [p for p in state["problems"] if p["kind"] == "error"]
    if errors:
        raise AssertionError(f"the run stopped: a cell raised; prompts: {state['prompts']}\n{_problem_text(errors)}")
    if not state["done"]:
        raise AssertionError(f"the kernel died during the run; {_describe(state)}")
    return state


def notebook_problems(page: Page) -> list[str]:
    """Returns the error and stderr outputs of the open notebook's code cells, from the models (one text each)."""
    state = _read(page, "runState()")
    return [f"cell {p['index']} ({p['kind']}): {p['text']}" for p in state.get("problems", [])]


def run_new_cell(page: Page, source: str, *, timeout: float = DEFAULT_TIMEOUT) -> Locator:
    """Adds a code cell holding ``source`` at the end of the open notebook, runs it, and waits until it ran.

    As a learner would: the last cell is selected, the notebook toolbar's "insert below" button adds the cell,
    ``source`` is typed into its editor as if pasted (no auto-closed brackets), and Ctrl+Enter runs it in place.
    Each step waits on the notebook's model: the new cell exists and is active, holds exactly ``source``, then
    has its execution count with the kernel idle.

    Returns:
        The new cell (``.jp-CodeCell``); its outputs are ``.jp-OutputArea-output`` inside, and
        ``cell_outputs(page)`` reads them from the model.

    Raises:
        AssertionError: Raised when the cell raises (with the error's text).
        TimeoutError: Raised when a step does not happen within ``timeout`` seconds.
    """
    before = _read(page, "cellState(-1)")
    last = before["index"]
    _read(page, "selectCell(arg)", last)
    page.locator(
        '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-NotebookPanel-toolbar [data-command="notebook:insert-cell-below"]'
    ).click()
    added = _wait(page, "cellState(-1)", "s.found && s.cells === arg + 2 && s.type === 'code' && s.active",
                  arg=last, timeout=timeout, what="the new cell")
    cell = page.locator(f'{ACTIVE_NOTEBOOK} .jp-Cell[data-windowed-list-index="{added["index"]}"]')
    cell.locator(".cm-content").click()
    page.keyboard.insert_text(source)
    _wait(page, "cellState(arg.id)", "s.found && s.source === arg.source", arg={"id": added["id"], "source": source},
          timeout=timeout, what="the new cell to hold the typed source")
    page.keyboard.press("Control+Enter")
    state = _wait(page, "cellState(arg)",
                  "s.found && ((s.count !== null && !s.running && s.kernel.idle)"
                  " || s.problems.some(p => p.kind === 'error'))",
                  arg=added["id"], timeout=timeout, what="the new cell to run")
    errors = [p for p in state["problems"] if p["kind"] == "error"]
    if errors:
        raise AssertionError(f"the new cell raised:\n{_problem_text([{**e, 'index': state['index']} for e in errors])}")
    return cell


def cell_outputs(page: Page, index: int = -1) -> list[dict]:
    """Returns the outputs of the open notebook's cell at ``index`` (negative: from the end) as nbformat JSON."""
    state = _read(page, "cellState(arg)", index)
    if not state["found"]:
        raise IndexError(f"no cell {index}: the notebook has {state['cells']}")
    return state.get("outputJSON", [])


def in_kernel(page: Page, expression: str, *, timeout: float = DEFAULT_TIMEOUT) -> Any:
    """Evaluates the Python ``expression`` in the open notebook's kernel and returns its value (JSON values only).

    A scratch cell printing ``json.dumps(expression)`` is added at the end of the notebook (``run_new_cell``) and
    its stdout is read from the cell's model: the way to ask for what only the kernel knows.
    """
    run_new_cell(page, f"import json; print(json.dumps({expression}))", timeout=timeout)
    text = "".join(
        "".join(o["text"]) for o in cell_outputs(page) if o["output_type"] == "stream" and o["name"] == "stdout"
    )
    return json.loads(text)


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
