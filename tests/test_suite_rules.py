"""Rules the test suite keeps about itself: a missing component is decided in one place
(``tests.conftest.require``: a failure in CI, a skip elsewhere), so no test skips around it."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).parent
RULE = TESTS / "conftest.py"


def _skip_calls(path: Path) -> list[str]:
    """``pytest.importorskip(...)``, ``pytest.skip(...)`` and ``@pytest.mark.skip/skipif`` in a file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        target = node.func if isinstance(node, ast.Call) else node
        calling = (
            isinstance(node, ast.Call) and isinstance(target, ast.Attribute) and target.attr in ("importorskip", "skip")
        )
        marking = (
            isinstance(node, ast.Attribute)
            and node.attr in ("skip", "skipif")
            and ast.unparse(node.value).endswith("mark")
        )
        if calling or marking:
            found.append(f"{path.relative_to(TESTS.parent)}:{node.lineno}: {ast.unparse(target)}")
    return found


def test_no_test_skips_around_the_require_rule():
    calls = [call for path in sorted(TESTS.rglob("*.py")) if path != RULE for call in _skip_calls(path)]
    assert calls == [], "use tests.conftest.require / require_module instead:\n" + "\n".join(calls)


def test_the_rule_fails_in_ci_and_skips_elsewhere(monkeypatch):
    import pytest

    import tests.conftest as conftest

    monkeypatch.setattr(conftest, "IN_CI", True)
    with pytest.raises(pytest.fail.Exception, match="No module named"):
        conftest.require_module("no_such_module_jht")
    monkeypatch.setattr(conftest, "IN_CI", False)
    with pytest.raises(pytest.skip.Exception, match="No module named"):
        conftest.require_module("no_such_module_jht")
    assert conftest.require_module("json").dumps([]) == "[]"
