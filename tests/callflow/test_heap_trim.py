"""The flow gives the heap's free pages back as calls end: when the line goes idle, or every
`every` calls on a busy line, never more often than `min_interval`."""

from __future__ import annotations

from console.callflow.heap_trim import HeapTrim, _load_trim


class _Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_trims_when_idle_or_every_n_calls_and_not_too_often() -> None:
    trims: list[int] = []
    clock = _Clock()
    heap = HeapTrim(every=3, min_interval=10.0, clock=clock,
                    trim=lambda pad: trims.append(pad) or 1)
    assert heap.call_ended(active=0)  # the last call ended: the line is idle
    assert not heap.call_ended(active=0)  # but not twice within 10 s
    clock.t += 11
    assert not heap.call_ended(active=5)  # busy: the 2nd call since the last trim
    assert heap.call_ended(active=5)  # the 3rd: trimmed
    assert trims == [0, 0] and heap.trims == 2


def test_a_failing_trim_never_ends_a_call() -> None:
    def broken(pad: int) -> int:
        raise OSError("no")

    heap = HeapTrim(trim=broken)
    assert heap.call_ended(active=0) is False


def test_glibc_trim_is_found_on_this_machine() -> None:
    trim = _load_trim()
    assert trim is not None, "glibc expected on the lab machine (musl: trimming is a no-op)"
    assert trim(0) in (0, 1)
