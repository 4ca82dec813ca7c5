"""Map the product's top-level folders into the single `evoforge` namespace.

`platform/` must never be importable as a top-level package (it would shadow the
standard library), so every package is listed explicitly with its source folder.
"""

from pathlib import Path

from setuptools import setup

ROOTS = {
    "evoforge": "platform/evoforge",
    "evoforge.plugins": "plugins",
    "evoforge.evaluators": "evaluators",
    "evoforge.sandboxes": "sandboxes",
    "evoforge.kernels": "kernels",
    "evoforge.ui": "ui",
}


def discover() -> tuple[list[str], dict[str, str]]:
    packages: list[str] = []
    package_dir: dict[str, str] = {}
    for name, folder in ROOTS.items():
        package_dir[name] = folder
        for init in sorted(Path(folder).rglob("__init__.py")):
            rel = init.parent.relative_to(folder)
            packages.append(".".join([name, *rel.parts]) if rel.parts else name)
    return packages, package_dir


DATA_FOLDERS = {
    "evoforge.plugins.proposers.llm.templates": ["*.txt"],
    "evoforge.sandboxes.images": ["*.Dockerfile"],
    "evoforge.kernels.seeds": ["*.py"],
}
"""Folders of data without an __init__.py (prompt templates, sandbox Dockerfiles, kernel
seed programs), listed as packages of their own: Python can import them as namespace
packages, and setuptools warns "Package would be ignored" for each one that is not."""

packages, package_dir = discover()

setup(
    packages=[*packages, *DATA_FOLDERS],
    package_dir=package_dir,
    package_data={
        "": ["*.toml", "*.txt", "*.ini", "*.mako", "*.json", "*.md", "Dockerfile*"],
        **DATA_FOLDERS,
    },
    include_package_data=True,
)
