"""Full disks for the fault tests and benchmarks: a small real tmpfs, filled to the last byte.

Used by the full-disk lab tests (`tests/e2e/test_record_disk_full_lab.py`) and by
`scripts/bench_record_faults`. Mounting needs root (or CAP_SYS_ADMIN); `tmpfs` raises
`NoTmpfs` with the system's words when it cannot, and each caller says what it leaves out.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path


class NoTmpfs(Exception):
    """This machine would not mount a tmpfs here (the reason is the message)."""


@contextlib.contextmanager
def tmpfs(path: Path, size: str) -> Iterator[Path]:
    """A real tmpfs of `size` mounted at `path`, unmounted (lazily, so never left) after."""
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                          capture_output=True, text=True, timeout=30)
    if done.returncode != 0:
        raise NoTmpfs(done.stderr.strip() or f"mount exited {done.returncode}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True, timeout=30)


def fill(disk: Path, name: str = "filler") -> Path:
    """Fill the file system of `disk` to the last byte with one file of zeros (appended to
    when it exists already: a second fill takes what was freed since)."""
    filler = disk / name
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        free = os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize
        with contextlib.suppress(OSError):
            os.posix_fallocate(fd, 0, max(1, free - 65536))
        os.lseek(fd, 0, os.SEEK_END)
        for chunk in (4096, 1):
            with contextlib.suppress(OSError):
                while os.write(fd, b"\0" * chunk) == chunk:
                    pass
    finally:
        os.close(fd)
    if os.statvfs(disk).f_bavail != 0:
        raise OSError(f"{disk} still has room after filling")
    return filler
