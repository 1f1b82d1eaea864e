"""Real Jupyter kernels for tests of several notebooks at once: start one, run code in it, read what it printed.

A ``Kernel`` is a ``jupyter_client`` kernel (a process of its own, as JupyterLab starts one per notebook) in a
given folder and environment. ``run(code)`` executes a cell and returns its ``text/plain`` result; a cell that
raises fails the test with the kernel's traceback.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import nbformat
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient
from traitlets.config import Config

from fbfailover.config import is_setting


def ipc_config() -> Config:
    """Kernel-manager settings for a kernel that talks over Unix sockets in a folder of its own, never TCP ports.

    jupyter_client picks five free TCP ports and the kernel binds them a moment later; with tests running in
    parallel another process can take one meanwhile ("Address already in use"). A socket path is this kernel's
    alone. The folder is short (a Unix socket path holds at most 107 bytes) and removed when the tests end.
    """
    folder = tempfile.mkdtemp(prefix="fbk-", dir="/tmp")
    atexit.register(shutil.rmtree, folder, True)
    return Config(KernelManager={"transport": "ipc", "ip": os.path.join(folder, "kernel")})


def run_notebook(path: Path, timeout: float) -> list[tuple[int, str | None, str | None]]:
    """Run the notebook at ``path`` in a fresh kernel (in its folder, every cell even after an error); return the
    errors as ``(cell index, ename, evalue)``."""
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, config=ipc_config(), kernel_name="python3", timeout=timeout, allow_errors=True,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    return [(i, o.get("ename"), o.get("evalue")) for i, c in enumerate(nb.cells) if c.cell_type == "code"
            for o in c.outputs if o.output_type == "error"]


class KernelFailed(AssertionError):
    """Raised when a cell run in a test kernel raised; the message holds the kernel's traceback."""


class Kernel:
    """One ``python3`` kernel started in ``folder`` with ``env``; ``run()`` a cell, ``shutdown()`` it."""

    def __init__(self, folder: Path, env: dict[str, str], name: str = "kernel"):
        self.name = name
        self.manager = KernelManager(kernel_name="python3", config=ipc_config())
        self.manager.start_kernel(cwd=str(folder), env=env)
        self.client = self.manager.client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=60)

    def run(self, code: str, timeout: float = 60.0) -> str:
        """Execute ``code`` as a cell; return its result's ``text/plain`` (its printed text when it has none).

        Raises:
            KernelFailed: the cell raised.
        """
        outputs: list[dict[str, Any]] = []
        reply = self.client.execute_interactive(code, timeout=timeout, output_hook=outputs.append,
                                                store_history=False)
        printed = "".join(m["content"].get("text", "") for m in outputs if m["msg_type"] == "stream")
        if reply["content"]["status"] != "ok":
            trace = "\n".join(reply["content"].get("traceback", []))
            raise KernelFailed(f"{self.name}: {reply['content'].get('ename')}: {reply['content'].get('evalue')}\n"
                               f"{trace}\n{printed}")
        results = [m["content"]["data"].get("text/plain", "") for m in outputs
                   if m["msg_type"] == "execute_result"]
        return results[-1] if results else printed

    def value(self, expression: str, timeout: float = 60.0) -> Any:
        """The JSON value of ``expression`` evaluated in the kernel."""
        return json.loads(self.run(f"import json as _json\nprint(_json.dumps({expression}))", timeout).strip())

    def shutdown(self) -> None:
        """End the kernel as JupyterLab does when its notebook is closed (a shutdown request, then a kill)."""
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=False)


def kernel_env(home: Path) -> dict[str, str]:
    """An environment for kernels of a project in ``home``: no inherited settings, ``.env`` and data folder there."""
    env = {k: v for k, v in os.environ.items() if not is_setting(k) and k != "JPY_SESSION_NAME"}
    env["FBFAILOVER_ENV_FILE"] = str(home / ".env")
    env["FBFAILOVER_DATA_DIR"] = str(home / "data")
    return env
