"""The package build compiles the message catalogs: a wheel carries the .mo files next to the
.po files (pyproject.toml holds everything else). Without them the app still compiles each
.po in memory at first use; with them it only reads them."""

from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from setuptools import setup
from setuptools.command.build_py import build_py


class BuildPyWithCatalogs(build_py):
    def run(self) -> None:
        super().run()
        source = Path(__file__).parent / "src" / "innovate" / "locale"
        target = Path(self.build_lib) / "innovate" / "locale"
        for po in sorted(source.glob("*/LC_MESSAGES/*.po")):
            mo = target / po.relative_to(source).with_suffix(".mo")
            mo.parent.mkdir(parents=True, exist_ok=True)
            with po.open("rb") as fp:
                catalog = read_po(fp, locale=po.parts[-3])
            with mo.open("wb") as out:
                write_mo(out, catalog)


setup(cmdclass={"build_py": BuildPyWithCatalogs})
