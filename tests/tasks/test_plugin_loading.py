"""Plugin loading is atomic and keyed by path (hybrid_eval/tasks/registry.py): a plugin that fails to import leaves
no module and no task behind and fails the same way every time, with one line naming the file and line; two plugin
files of the same name are two plugins; one task name registered by two files names both."""
import sys

import pytest

from hybrid_eval.tasks import registry
from hybrid_eval.tasks.base import TaskConfigError

pytestmark = pytest.mark.faults  # part of the fault suite (`pytest -m faults`)

TASK = '''
import dataclasses
from hybrid_eval.tasks import Task, assistant, register, user


@register
class {cls}(Task):
    name = "{name}"
    category = "reasoning"

    @dataclasses.dataclass(frozen=True)
    class Knobs:
        pass

    def make_example(self, rng):
        return [user("q"), assistant("a")], {{}}

    def vocabulary(self):
        return ["q", "a"]
'''


def _plugin_modules():
    return {m for m in sys.modules if m.startswith("hybrid_eval_plugin_")}


def test_a_syntax_error_names_file_and_line_and_leaves_nothing(tmp_path):
    path = tmp_path / "broken.py"
    # line 21 does not parse: no module, no task of the file may stay (the old code left the module in sys.modules)
    path.write_text(TASK.format(cls="Half", name="half_task") + "\ndef oops(:\n")
    registry.load_builtin()
    before, modules = dict(registry.REGISTRY), _plugin_modules()
    for _ in range(3):  # every job of a sweep fails the same way (the old code: job 0 failed, jobs 1-2 ran without it)
        with pytest.raises(TaskConfigError) as e:
            registry.include(str(path))
        assert str(e.value) == (f"suite.include: {path}:21: SyntaxError: invalid syntax; accepted: a plugin file that "
                                "imports")
        assert registry.REGISTRY == before and _plugin_modules() == modules


def test_an_exception_after_a_register_unregisters_it(tmp_path):
    path = tmp_path / "raises.py"
    path.write_text(TASK.format(cls="Early", name="early_task") + "\nraise RuntimeError('no data here')\n")
    with pytest.raises(TaskConfigError, match=rf"^suite.include: {path}:21: RuntimeError: no data here; accepted"):
        registry.include(str(path))
    assert "early_task" not in registry.REGISTRY and not any("raises" in m for m in _plugin_modules())


def test_two_files_of_the_same_name_are_two_plugins(tmp_path):
    a, b = tmp_path / "a" / "tasks.py", tmp_path / "b" / "tasks.py"
    for path, name in ((a, "task_from_a"), (b, "task_from_b")):
        path.parent.mkdir()
        path.write_text(TASK.format(cls="Mine", name=name))
        registry.include(str(path))
    assert registry.get("task_from_a") is not registry.get("task_from_b")  # the old code skipped b silently


def test_one_task_name_in_two_files_names_both_paths(tmp_path):
    a, b = tmp_path / "x" / "same.py", tmp_path / "y" / "same.py"
    for path, cls in ((a, "First"), (b, "Second")):
        path.parent.mkdir()
        path.write_text(TASK.format(cls=cls, name="twice_task"))
    registry.include(str(a))
    with pytest.raises(TaskConfigError) as e:
        registry.include(str(b))
    assert str(e.value).startswith(f"suite.include: {b}: task name 'twice_task' is registered twice ({a} and {b})")
    assert registry.get("twice_task").__name__ == "First"
