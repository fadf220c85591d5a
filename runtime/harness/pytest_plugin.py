"""pytest plugin (entry point ``pytest11``): ``*.scenario.yaml`` files become test items.

A skill author's suite and this project's run the same way: ``pytest tests/`` collects
every scenario next to the Python tests, runs it with the harness runner and reports a
failure with the scenario's transcript.
"""
from __future__ import annotations

from pathlib import Path

import pytest


def pytest_collect_file(parent: pytest.Collector, file_path: Path) -> pytest.File | None:
    if file_path.name.endswith((".scenario.yaml", ".scenario.yml")):
        return ScenarioFile.from_parent(parent, path=file_path)
    return None


class ScenarioFile(pytest.File):
    def collect(self):  # noqa: ANN201
        from runtime.harness.scenario import ScenarioError, load

        try:
            scenario = load(self.path)
            name = scenario.name
        except ScenarioError:
            name = self.path.name
        yield ScenarioItem.from_parent(self, name=name)


class ScenarioFailed(Exception):
    pass


class ScenarioItem(pytest.Item):
    def runtest(self) -> None:
        from runtime.harness.report import transcript
        from runtime.harness.runner import run_path

        result = run_path(self.path, fixture_cache=str(_cache_dir(self.config)))
        if not result.passed:
            raise ScenarioFailed("\n".join(result.failures) + "\n\n" + transcript(result))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style=None) -> str:  # noqa: ANN001
        if isinstance(excinfo.value, ScenarioFailed):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self):  # noqa: ANN201
        return self.path, 0, f"scenario: {self.name}"


def _cache_dir(config: pytest.Config) -> Path:
    """The fixture cache ``ai-music test`` uses too — never inside the project being tested
    (and it works with ``-p no:cacheprovider``)."""
    from runtime.harness.fixtures import default_cache

    return default_cache()
