"""No function in device/ runs past 60 lines (from its `def` to its last line): a longer one
does several jobs, and a part with a job of its own reads better under its own name."""
import ast
from pathlib import Path

DEVICE = Path(__file__).resolve().parents[2] / "device"
MAX_LINES = 60


def long_functions(root: Path, limit: int) -> list[str]:
    found = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > limit:
                    found.append(f"{path.relative_to(root.parent)}:{node.lineno} {node.name} "
                                 f"({lines} lines)")
    return found


def test_no_function_in_device_is_longer_than_60_lines():
    assert long_functions(DEVICE, MAX_LINES) == []


def test_the_check_sees_a_long_function(tmp_path):
    (tmp_path / "m.py").write_text("def f():\n" + "    x = 1\n" * 60 + "\n\ndef g():\n    pass\n")
    assert long_functions(tmp_path, MAX_LINES) == [f"{tmp_path.name}/m.py:1 f (61 lines)"]
