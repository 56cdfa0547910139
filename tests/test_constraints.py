"""constraints.txt pins, from PyPI, every package `pip install '.[test]'` needs, each inside pyproject's bounds."""

from __future__ import annotations

import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]


def _pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, sep, version = line.partition("==")
            assert sep and version.strip(), f"not an exact pin: {line!r}"
            pins[canonicalize_name(name)] = version.strip()
    return pins


def _requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [
        Requirement(text) for text in [*project["dependencies"], *project["optional-dependencies"]["test"]]
    ]


def test_every_dependency_is_pinned_inside_its_bounds_with_an_upper_one() -> None:
    pins = _pins()
    for requirement in _requirements():
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement.name} is not in constraints.txt"
        assert requirement.specifier.contains(pins[name]), f"{name}=={pins[name]} is outside {requirement}"
        assert any(spec.operator == "<" for spec in requirement.specifier), (
            f"{requirement} has no upper bound"
        )
        for extra in requirement.extras:
            assert canonicalize_name(f"{requirement.name}-{extra}") in pins, (
                f"{requirement} is not pinned whole"
            )


def test_the_pins_name_no_local_path_and_not_the_project_itself() -> None:
    text = (ROOT / "constraints.txt").read_text()
    assert "@" not in text and "file:" not in text
    assert canonicalize_name("sender") not in _pins()
