"""Build hook only (the project is declared in pyproject.toml): the reference files of ``etc/``
named by ``bridge.resources.SHIPPED`` (SQL interface tables and statements, SOAP reference WSDL,
nginx configuration, service definitions, the example configuration) are copied into the wheel
as ``bridge/etc/…``, where
``bridge.resources.etc_path`` finds them in an installed bridge. The repository's ``etc/`` stays
their one source; an editable install reads it directly and gets no copy.
"""

from __future__ import annotations

import runpy
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
# Loaded by path: the build needs only this small module, not the package and its dependencies.
resources = runpy.run_path(str(ROOT / "bridge" / "resources.py"))


class build_py_with_etc(build_py):
    """``build_py`` plus the copy of the shipped reference files into ``bridge/etc/``."""

    def _reference_files(self) -> list[tuple[Path, Path]]:
        etc = ROOT / "etc"
        target = Path(self.build_lib, "bridge", "etc")
        return [(path, target / path.relative_to(etc)) for path in resources["shipped_files"](etc)]

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads the checkout's etc/ (bridge.resources.etc_root)
        for source, target in self._reference_files():
            self.mkpath(str(target.parent))
            self.copy_file(str(source), str(target), preserve_mode=False)

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        outputs = super().get_outputs(include_bytecode)
        if getattr(self, "editable_mode", False):
            return outputs
        return outputs + [str(target) for _, target in self._reference_files()]


setup(cmdclass={"build_py": build_py_with_etc})
