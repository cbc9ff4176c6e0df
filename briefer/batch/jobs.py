"""The jobs of a batch: read from a JSONL manifest or a folder of job folders, ids checked first.

A manifest line is `{"id": "...", "sources": ["path or URL", ...], "template": "...",
"sections": ["KEY: DESCRIPTION", ...]}`; `template` and `sections` fall back to the
command line. Relative source paths are read from the manifest's folder. A folder
of jobs has one job per subfolder, named by it, whose sources are that subfolder.
Every problem is a `UsageError` naming the line or folder, raised before any job runs.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from briefer.errors import UsageError

MAX_ID_CHARS = 200
_ID = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")
_FIELDS = {"id", "sources", "template", "sections"}


@dataclass(frozen=True)
class Job:
    """One brief to make: its id (the name of its output files), sources, and template if not the run's."""

    id: str
    sources: tuple[str, ...]
    template: str | None = None
    sections: tuple[str, ...] = field(default_factory=tuple)


def check_id(job_id: object, where: str) -> str:
    """`job_id` if it can name files in the output folder; else a `UsageError` saying what is wrong."""
    if not isinstance(job_id, str) or not job_id:
        raise UsageError(f"{where}: id must be a non-empty string")
    shown = json.dumps(job_id, ensure_ascii=True)
    if "/" in job_id or "\\" in job_id:
        raise UsageError(
            f"{where}: id {shown} contains a path separator: ids name files in the output folder"
        )
    if ".." in job_id:
        raise UsageError(f"{where}: id {shown} contains '..': ids name files in the output folder")
    if len(job_id) > MAX_ID_CHARS or not _ID.match(job_id):
        raise UsageError(
            f"{where}: id {shown} is not allowed: use letters, digits, '_', '-' and '.' "
            f"(not first), at most {MAX_ID_CHARS} characters"
        )
    return job_id


def read_jobs(path: Path) -> list[Job]:
    """The jobs in `path`: a JSONL manifest, or a folder whose subfolders are the jobs."""
    if path.is_dir():
        jobs = _folder_jobs(path)
    elif path.is_file():
        jobs = _manifest_jobs(path)
    else:
        raise UsageError(f"{path}: no such file or folder: give a JSONL manifest or a folder of job folders")
    if not jobs:
        raise UsageError(f"{path}: no jobs in it")
    seen: dict[str, int] = {}
    for number, job in enumerate(jobs, start=1):
        if job.id in seen:
            raise UsageError(f"{path}: job id {job.id!r} appears twice (jobs {seen[job.id]} and {number})")
        seen[job.id] = number
    return jobs


def _folder_jobs(folder: Path) -> list[Job]:
    jobs = []
    for sub in sorted(folder.iterdir()):
        if sub.is_dir() and not sub.name.startswith("."):
            jobs.append(Job(check_id(sub.name, f"{folder}: folder {sub.name!r}"), (str(sub.resolve()),)))
    return jobs


def _manifest_jobs(manifest: Path) -> list[Job]:
    try:
        lines = manifest.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{manifest}: cannot read the manifest ({exc})") from None
    base = manifest.resolve().parent
    jobs = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{manifest} line {number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UsageError(f"{where}: not valid JSON ({exc.msg}): one JSON object per line") from None
        jobs.append(_job(record, where, base))
    return jobs


def _job(record: object, where: str, base: Path) -> Job:
    if not isinstance(record, dict):
        raise UsageError(f"{where}: a job is a JSON object with id and sources")
    unknown = sorted(set(record) - _FIELDS)
    if unknown:
        raise UsageError(f"{where}: unknown field {unknown[0]!r}: a job has {', '.join(sorted(_FIELDS))}")
    job_id = check_id(record.get("id"), where)
    sources = record.get("sources")
    if not isinstance(sources, list) or not sources or not all(isinstance(s, str) and s for s in sources):
        raise UsageError(f"{where}: sources must be a non-empty list of paths or URLs")
    if "-" in sources:
        raise UsageError(f"{where}: a batch job cannot read stdin ('-'): name files or URLs")
    template = record.get("template")
    if template is not None and (not isinstance(template, str) or not template):
        raise UsageError(f"{where}: template must be a template name or a .toml path")
    sections = record.get("sections", [])
    if not isinstance(sections, list) or not all(isinstance(s, str) for s in sections):
        raise UsageError(f'{where}: sections must be a list of "KEY: DESCRIPTION" strings')
    if template is not None and template.endswith(".toml"):
        template = str(base / template)
    return Job(job_id, tuple(_resolve(s, base) for s in sources), template, tuple(sections))


def _resolve(source: str, base: Path) -> str:
    """A source as the job will read it: URLs as they are, relative paths from the manifest's folder."""
    if source.startswith(("http://", "https://")):
        return source
    path = Path(source).expanduser()
    return str(path if path.is_absolute() else base / path)
