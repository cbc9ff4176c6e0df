"""Writing the brief to `-o PATH`: checked before any work, atomic for regular files, never
replacing anything that is not one.

A regular file (or a symlink to one) is written through a temporary file in the target's
folder and renamed into place, so a failed or interrupted run never leaves a partial
brief; a symlink stays a symlink. A device, FIFO or other special file (`/dev/null`,
`/dev/stdout`) is written directly: renaming over it would replace the node itself.
"""

from __future__ import annotations

import os
import secrets
import stat
from collections.abc import Sequence
from pathlib import Path

from briefer.errors import RunError, UsageError
from briefer.formats import supported_suffixes

STDOUT = "-"
"""`-o -` writes to stdout, as if no -o were given."""


def check_output(path: Path, sources: Sequence[str] = ()) -> None:
    """Refuse, with a UsageError, an output path that cannot be written or that would overwrite one of
    `sources` (the SOURCE arguments); call it before reading anything."""
    if str(path) == STDOUT:
        return
    mode = _mode(path, UsageError)
    if mode is not None and stat.S_ISDIR(mode):
        raise UsageError(f"cannot write {path}: it is a directory")
    target = Path(os.path.realpath(path))
    clash = _source_clash(target, sources)
    if clash:
        raise UsageError(f"cannot write {path}: {clash}; choose another output file")
    if mode is not None and not stat.S_ISREG(mode):
        if not os.access(path, os.W_OK):
            raise UsageError(f"cannot write {path}: permission denied")
        return
    folder = target.parent
    if not folder.is_dir():
        shown = path.parent if str(path.parent) else Path(".")
        raise UsageError(f"cannot write {path}: folder {shown} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError(f"cannot write {path}: folder {folder} is not writable")


def write_output(path: Path, text: str | bytes) -> None:
    """Write `text` (bytes: already UTF-8) to `path`: special files directly, regular files
    atomically (see the module doc)."""
    mode = _mode(path, RunError)
    if mode is not None and not stat.S_ISREG(mode):
        _write_special(path, text)
    else:
        _write_atomic(path, Path(os.path.realpath(path)), text, mode)


def _mode(path: Path, error: type[UsageError] | type[RunError]) -> int | None:
    """The mode of what `path` names (following a symlink), None if nothing is there; other
    failures are an `error` saying the path cannot be written."""
    try:
        return os.stat(path).st_mode
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise error(f"cannot write {path}: {exc.strerror or exc}") from exc


def _write_special(path: Path, text: str | bytes) -> None:
    """Write to a device or FIFO in place: opening it follows a symlink and never replaces the node."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    try:
        with open(path, "wb") as handle:
            handle.write(data)
    except OSError as exc:
        raise RunError(f"cannot write {path}: {exc.strerror or exc}") from exc


def _write_atomic(path: Path, target: Path, text: str | bytes, mode: int | None) -> None:
    """Write through a temporary file next to `target`, then rename it over `target`.

    A new file gets the mode the user's umask gives any new file (the kernel applies it when
    the temporary file is created with 0o666); a replaced file keeps its own mode.
    """
    while True:
        tmp = target.parent / f".{target.name}.{secrets.token_hex(4)}.tmp"
        try:
            # Opened inside the cleanup's reach: a Ctrl-C raised as the file is created removes it.
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666)
            with os.fdopen(fd, "wb") as handle:
                if mode is not None:
                    os.chmod(tmp, stat.S_IMODE(mode))
                handle.write(text.encode("utf-8") if isinstance(text, str) else text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
            return
        except FileExistsError:
            continue  # another file took this name: never ours to remove
        except BaseException as exc:
            tmp.unlink(missing_ok=True)
            if isinstance(exc, OSError):
                raise RunError(f"cannot write {path}: {exc.strerror or exc}") from exc
            raise


def _source_clash(target: Path, sources: Sequence[str]) -> str | None:
    """How `target` is one of the SOURCE arguments ("it is the source notes.md"), or None when it is not."""
    for arg in sources:
        if arg == STDOUT or "://" in arg:
            continue
        given = Path(arg)
        try:
            if not given.exists():
                continue
            resolved = given.resolve()
        except OSError:
            continue
        if resolved == target:
            return f"it is the source {arg}"
        if (
            given.is_dir()
            and target.is_relative_to(resolved)
            and target.suffix.lower() in supported_suffixes()
            and not any(part.startswith(".") for part in target.relative_to(resolved).parts)
        ):
            return f"it would be read as a source of {arg}"
    return None
