"""`-o PATH` as a hostile or careless user gives it: special files, symlinks, the input itself,
full disks, SIGTERM. Every case runs the real CLI; special files are made in tmp_path."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from briefer.output import write_output
from tests.conftest import ROOT, SEED, run_brief
from tests.scripted_server import Reply, ScriptedServer, completion

ROOT_USER = hasattr(os, "geteuid") and os.geteuid() == 0


def _seed_copy(folder: Path) -> Path:
    copy = folder / "notes.md"
    copy.write_bytes(SEED.read_bytes())
    return copy


def _device(folder: Path, name: str, minor: int) -> Path:
    """A character device node in `folder` (1, minor): 3 is null, 7 is full. Needs root."""
    if not ROOT_USER:
        pytest.skip("making a device node needs root")
    node = folder / name
    os.mknod(node, 0o666 | stat.S_IFCHR, os.makedev(1, minor))
    return node


def test_output_to_a_fifo_writes_into_it_and_keeps_it(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.md"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    result = run_brief(str(SEED), "-o", str(fifo))
    reader.join(timeout=30)
    assert result.returncode == 0, result.stderr
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    assert received and received[0].startswith(b"# Policy brief")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe.md"]


def test_output_to_a_device_writes_into_it_and_keeps_the_node(tmp_path: Path) -> None:
    null = _device(tmp_path, "null", 3)
    result = run_brief(str(SEED), "-o", str(null))
    assert result.returncode == 0, result.stderr
    assert stat.S_ISCHR(null.lstat().st_mode)


def test_a_full_device_as_output_is_an_io_error_and_stays_a_device(tmp_path: Path) -> None:
    full = _device(tmp_path, "full", 7)
    result = run_brief(str(SEED), "-o", str(full))
    assert result.returncode == 1
    assert result.stderr.strip() == f"brief: error: cannot write {full}: No space left on device"
    assert stat.S_ISCHR(full.lstat().st_mode)


def test_a_symlink_to_stdout_writes_to_stdout_and_stays_a_link(tmp_path: Path) -> None:
    link = tmp_path / "out.md"
    link.symlink_to("/proc/self/fd/1")  # what /dev/stdout is
    result = run_brief(str(SEED), "-o", str(link))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("# Policy brief")
    assert link.is_symlink() and os.readlink(link) == "/proc/self/fd/1"


def test_a_symlink_to_a_file_replaces_the_target_and_keeps_the_link(tmp_path: Path) -> None:
    (tmp_path / "briefs").mkdir()
    target = tmp_path / "briefs" / "real.md"
    target.write_text("old\n", encoding="utf-8")
    link = tmp_path / "latest.md"
    link.symlink_to(target)
    result = run_brief(str(SEED), "-o", str(link))
    assert result.returncode == 0, result.stderr
    assert link.is_symlink() and link.resolve() == target
    assert target.read_text(encoding="utf-8").startswith("# Policy brief")
    assert sorted(p.name for p in (tmp_path / "briefs").iterdir()) == ["real.md"]  # no temporary file left


def test_dash_as_output_is_stdout(tmp_path: Path) -> None:
    result = run_brief(str(SEED), "-o", "-", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("# Policy brief")
    assert list(tmp_path.iterdir()) == []
    as_json = run_brief(str(SEED), "-o", "-", "--format", "json", cwd=tmp_path)
    assert as_json.stdout.startswith("{")


def test_output_that_is_the_input_is_refused_before_any_call(tmp_path: Path) -> None:
    notes = _seed_copy(tmp_path)
    before = notes.read_bytes()
    with ScriptedServer() as server:
        result = run_brief(
            str(notes), "-o", str(notes), "--base-url", server.url, env={"OPENAI_API_KEY": "sk-test"}
        )
        sent = len(server.requests)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"brief: error: cannot write {notes}: it is the source {notes}; choose another output file"
    )
    assert sent == 0
    assert notes.read_bytes() == before


def test_output_that_is_the_input_by_another_name_is_refused(tmp_path: Path) -> None:
    notes = _seed_copy(tmp_path)
    (tmp_path / "alias.md").symlink_to(notes)
    result = run_brief("notes.md", "-o", "./alias.md", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "brief: error: cannot write alias.md: it is the source notes.md; choose another output file"
    )
    assert notes.read_bytes() == SEED.read_bytes()


def test_output_inside_a_directory_source_is_refused(tmp_path: Path) -> None:
    _seed_copy(tmp_path)
    result = run_brief(str(tmp_path), "-o", str(tmp_path / "brief.md"))
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"brief: error: cannot write {tmp_path / 'brief.md'}: it would be read as a source of {tmp_path}; "
        "choose another output file"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.md"]


def test_the_output_is_checked_before_any_source_is_read(tmp_path: Path) -> None:
    missing_source, missing_folder = tmp_path / "missing.txt", tmp_path / "nope" / "brief.md"
    result = run_brief(str(missing_source), "-o", str(missing_folder))
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"brief: error: cannot write {missing_folder}: folder {missing_folder.parent} does not exist"
    )


@pytest.mark.skipif(ROOT_USER, reason="root may write into any folder")
def test_an_unwritable_folder_is_refused_before_any_work(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    result = run_brief(str(tmp_path / "missing.txt"), "-o", str(locked / "brief.md"))
    assert result.returncode == 2
    assert (
        result.stderr.strip()
        == f"brief: error: cannot write {locked / 'brief.md'}: folder {locked} is not writable"
    )


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full")
def test_a_full_disk_on_stdout_is_an_io_error_not_an_internal_error() -> None:
    with open("/dev/full", "w") as full:
        result = subprocess.run(
            [sys.executable, "-m", "briefer", str(SEED), "--format", "markdown"],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            timeout=300,
        )
    assert result.returncode == 1
    assert result.stderr.strip() == "brief: error: cannot write to stdout: No space left on device"


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_a_new_file_gets_the_users_default_mode(tmp_path: Path, umask: int) -> None:
    out = tmp_path / "brief.md"
    result = subprocess.run(
        [sys.executable, "-m", "briefer", str(SEED), "-o", str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        preexec_fn=lambda: os.umask(umask),  # in the child only
    )
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o666 & ~umask


def test_a_replaced_file_keeps_its_mode(tmp_path: Path) -> None:
    out = tmp_path / "brief.md"
    out.write_text("private notes\n", encoding="utf-8")
    out.chmod(0o600)
    result = run_brief(str(SEED), "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert out.read_text(encoding="utf-8").startswith("# Policy brief")


def test_writing_leaves_the_process_umask_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_umask(mask: int) -> int:
        raise AssertionError("the process-wide umask was changed while other threads may create files")

    monkeypatch.setattr(os, "umask", no_umask)
    write_output(tmp_path / "brief.md", "# Brief\n")
    assert (tmp_path / "brief.md").read_text(encoding="utf-8") == "# Brief\n"


def test_sigterm_stops_a_run_like_ctrl_c_and_leaves_no_file(tmp_path: Path) -> None:
    out = tmp_path / "brief.md"
    with ScriptedServer(lambda n, r: Reply(body=completion("{}"), delay=60)) as server:
        args = [str(SEED), "--base-url", server.url, "-o", str(out)]
        process = subprocess.Popen(
            [sys.executable, "-m", "briefer", *args],
            cwd=ROOT,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "OPENAI_API_KEY": "sk-test"},
        )
        deadline = time.monotonic() + 60
        while not server.requests and time.monotonic() < deadline:
            time.sleep(0.1)
        assert server.requests, "no call reached the server"
        terminated = time.monotonic()
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 143
    assert stderr.strip() == "brief: terminated"
    assert time.monotonic() - terminated < 10
    assert list(tmp_path.iterdir()) == []


def test_ctrl_c_as_the_temporary_file_is_created_leaves_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_open = os.open

    def open_then_interrupted(*args: Any, **kwargs: Any) -> int:
        real_open(*args, **kwargs)  # the file exists: Ctrl-C is raised as the call returns
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "open", open_then_interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_output(tmp_path / "brief.md", "# Brief\n")
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []
