"""Every ``%load``-able solution in ``notebooks/solutions/`` solves its exercise, and the committed default does not.

For each solution the notebook's own cells set the scene (its first cell, the cells that define what the solution
uses, the exercise, and the learner's cell as committed); the check then says "Not yet". The solution file runs as
``%load`` would put it in a cell, and the same check then says "Done". The cells run against the project's sandbox,
as in the notebook.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent / "notebooks"

# solution -> (notebook, the first lines of the cells that set the scene, in order; the check)
CASES = {
    "01_second_user.py": ("01-configure-webhooks.ipynb", [
        "from fbfailover import tutorial", "ConfirmChange(tutorial.configure_account_webhooks, tut)",
        "tutorial.learn_facebook_ids(tut)", "from fbfailover.tutorial import setup_exercises",
        "# Edit: make a user write to the Page"], "exercise.check()"),
    "02_second_application.py": ("02-create-an-application.ipynb", [
        "from fbfailover import tutorial", "from fbfailover.payloads import application_body\n"
        "from fbfailover.tutorial import setup_exercises", "staging = tut.client.create_application("],
        "exercise.check()"),
    "03_shortest_token.py": ("03-generate-a-jwt.ipynb", [
        "from fbfailover import tutorial", "import time, uuid", "from fbfailover.tutorial import setup_exercises",
        "# Edit: the exp"], "exercise.check(short)"),
    "04_sms_after_30_seconds.py": ("04-send-a-facebook-message-with-failover.ipynb", [
        "from fbfailover import tutorial", "body = failover_workflow([",
        "tut.sandbox.reset_recipients()  # the recipient ignores Messenger again", "# Edit this body"],
        "exercise.check()"),
    "04_ends_in_error.py": ("04-send-a-facebook-message-with-failover.ipynb", [
        "from fbfailover import tutorial", "body = failover_workflow([",
        "exercise = tutorial.exercises.ends_in_error(tut)", "# Edit: add a line that makes"], "exercise.check()"),
    "05_v1_reaches_sms.py": ("05-messages-api-failover.ipynb", [
        "from fbfailover import tutorial", "body = {", "tut.sandbox.reset_recipients()  # Messenger accepts",
        "# Edit: add a line before the send"], "exercise.check()"),
}


def test_every_solution_has_a_case():
    assert set(CASES) == {p.name for p in (ROOT / "solutions").glob("*.py")}


def _cell(nb, start: str) -> str:
    found = [c.source for c in nb.cells if c.cell_type == "code" and c.source.startswith(start)]
    assert len(found) == 1, f"{start!r}: {len(found)} cells"
    return found[0]


@pytest.mark.parametrize("solution", sorted(CASES))
def test_the_solution_solves_its_exercise_and_the_committed_cell_does_not(solution, isolated_settings):
    notebook, scene, check = CASES[solution]
    nb = nbformat.read(ROOT / notebook, as_version=4)
    cells = [_cell(nb, start) for start in scene]
    namespace: dict = {"display": lambda *objects: None}
    for source in cells:
        exec(compile(source, f"{notebook} cell", "exec"), namespace)
    before = eval(check, namespace)
    assert not before.ok and before.title.startswith("✗ Not yet"), repr(before)
    code = (ROOT / "solutions" / solution).read_text()
    exec(compile(code, solution, "exec"), namespace)
    after = eval(check, namespace)
    assert after.ok and after.title.startswith("✓ Done"), repr(after)
    namespace["tut"].receiver.stop()
