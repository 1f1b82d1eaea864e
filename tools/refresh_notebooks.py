"""Re-run the tutorial notebooks in order, in a fresh sandbox environment, and store their outputs.

Usage: ``python tools/refresh_notebooks.py [NOTEBOOK ...]`` (``make notebooks-refresh``). The notebooks run
exactly as the tests run them: a temporary ``.env`` and data folder, no Vonage credentials in the
environment, so the stored outputs come from the offline sandbox and the repository's ``.env`` is never
touched. Widget state is not stored (it changes every run and untrusted notebooks never show it).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from sandboxed import clean_environment

from fbfailover.sandbox.instance import stop_project_sandbox

HERE = Path(__file__).resolve().parent.parent / "notebooks"


def refresh(path: Path) -> None:
    """Execute one notebook in its own folder and write it back with outputs, without widget state."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=120, kernel_name="python3", store_widget_state=False,
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    nb.metadata.pop("widgets", None)
    errors = [c for c in nb.cells if c.cell_type == "code" and any(o.output_type == "error" for o in c.outputs)]
    if errors:
        raise SystemExit(f"{path.name}: a cell raised an error; nothing was written")
    nbformat.write(nb, path)
    print(f"refreshed {path.name}")


def main(argv: list[str]) -> int:
    paths = [Path(a).resolve() for a in argv] or sorted(HERE.glob("*.ipynb"))
    with tempfile.TemporaryDirectory(prefix="fbfailover-notebooks-") as folder:
        env = clean_environment(Path(folder))
        os.environ.clear()
        os.environ.update(env)  # the kernels inherit this process's environment
        try:
            for path in paths:
                refresh(path)
        finally:  # the kernels started the project's sandbox in the temporary folder
            stop_project_sandbox(env)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
