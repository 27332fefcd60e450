"""The outbox on a disk that fills, for real (a tmpfs): what the lab's full-disk test found.

1. A write the full disk took only part of (a short write: the file's last page had room
   for the first bytes of the line) left those bytes in the file. The entry, kept in memory,
   was appended after them once space returned, on the same line: the next start read that
   line as unreadable and set the entry aside — a call's write lost from the record after a
   crash or a restart.
2. Writes kept in memory were written back only by the next append or when the writer was
   idle; while the database was away the writer is never idle, so with the outbox's disk
   free again and no new call (a quiet night) they stayed in memory — at risk, alarmed —
   for as long as the database stayed away.
"""

from __future__ import annotations

import os
from pathlib import Path

from console.store import Outbox
from tests.store.test_outage import fill, tmpfs


def test_a_short_write_on_a_full_disk_leaves_no_torn_line(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "disk", "1m") as disk:
        outbox = Outbox(disk / "outbox", "hotline", reserve_bytes=0)
        page = os.statvfs(disk).f_bsize
        # One entry that ends 100 bytes short of a page: the disk has no free page left,
        # but the file's last page has room for the first 100 bytes of the next line.
        base = len(outbox.append("open", {"pad": ""}).line())
        outbox.applied(outbox.pending()[0])
        outbox.close()
        (disk / "outbox" / "outbox-hotline.jsonl").write_bytes(b"")
        outbox = Outbox(disk / "outbox", "hotline", reserve_bytes=0)
        first = outbox.append("open", {"pad": "x" * (page - 100 - base)})
        assert outbox.path.stat().st_size == page - 100
        filler = fill(disk)
        second = outbox.append("update", {"key": "k", "facts": {"notes": "y" * 300}})
        assert outbox.status().unsaved == 1  # the disk refused it: kept in memory
        assert outbox.path.stat().st_size == page - 100  # and nothing of it in the file
        filler.unlink()
        third = outbox.append("seal", {"key": "k"})
        assert outbox.status().unsaved == 0
        outbox.close()
        again = Outbox(disk / "outbox", "hotline", reserve_bytes=0)
        # The next start reads every entry back; none is set aside as unreadable.
        assert [e.n for e in again.pending()] == [first.n, second.n, third.n]
        assert not again.rejected_path.exists()
        again.close()
