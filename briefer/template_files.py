"""Template files: where templates live and how one is found by name, without parsing it.

Kept apart from `briefer.templates` (the pydantic models that validate a template)
so that `brief templates` and `brief --help` start without importing pydantic.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path

import platformdirs

from briefer.errors import TemplateError

DEFAULT_TEMPLATE = "policy"


def builtin_dir() -> Traversable:
    """Where the built-in templates live: inside the installed package, or `prompts/` in a checkout."""
    packaged = resources.files("briefer").joinpath("prompts")
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "prompts"


def user_dir() -> Path:
    """Where the user's own templates live; they override built-ins of the same name."""
    return Path(platformdirs.user_config_dir("briefer")) / "templates"


@dataclass(frozen=True)
class TemplateFile:
    """A template file found by name: where it is, its text, and whether the user made it."""

    name: str
    where: str
    text: str
    user: bool

    def description(self) -> str | None:
        """The template's `description`, read from the TOML without validating the rest; None when
        the file is not TOML or has no text description."""
        try:
            description = tomllib.loads(self.text).get("description")
        except tomllib.TOMLDecodeError:
            return None
        return description if isinstance(description, str) and description else None


def template_files() -> dict[str, TemplateFile]:
    """Every template by name, sorted: built-ins, then the user's, which win on a shared name."""
    found: dict[str, TemplateFile] = {}
    for entry in sorted(builtin_dir().iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            name = entry.name.removesuffix(".toml")
            found[name] = TemplateFile(
                name, f"built-in {entry.name}", entry.read_text(encoding="utf-8"), False
            )
    folder = user_dir()
    if folder.is_dir():
        for path in sorted(folder.glob("*.toml")):
            found[path.stem] = TemplateFile(path.stem, str(path), read_template_file(path), True)
    return dict(sorted(found.items()))


def is_path(name_or_path: str) -> bool:
    return name_or_path.endswith(".toml") or "/" in name_or_path or "\\" in name_or_path


def find_template(name_or_path: str) -> TemplateFile:
    """The template file a `-t` argument names: a path, or a user or built-in template name."""
    if is_path(name_or_path):
        path = Path(name_or_path)
        if not path.is_file():
            raise TemplateError(name_or_path, "no such file")
        return TemplateFile(path.stem, name_or_path, read_template_file(path), True)
    files = template_files()
    if name_or_path not in files:
        raise TemplateError(
            name_or_path,
            f"no such template; choose one of {', '.join(files)} or give a path to a .toml file",
        )
    return files[name_or_path]


def read_template_file(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TemplateError(str(path), f"cannot read ({exc})") from exc
