"""Pausing the cyclic garbage collector: nested and concurrent pauses, and the state it restores."""

from __future__ import annotations

import gc
import threading

from evidence_kit.support.gc import paused


def test_a_pause_restores_the_collector_after_the_outermost_block() -> None:
    assert gc.isenabled()
    with paused():
        assert not gc.isenabled()
        with paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off() -> None:
    gc.disable()
    try:
        with paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_overlapping_pauses_in_threads_end_with_the_last_one() -> None:
    inside, release = threading.Event(), threading.Event()

    def hold() -> None:
        with paused():
            inside.set()
            release.wait(10)

    worker = threading.Thread(target=hold)
    worker.start()
    inside.wait(10)
    with paused():
        pass
    assert not gc.isenabled()
    release.set()
    worker.join(10)
    assert gc.isenabled()


def test_an_error_inside_still_restores_the_collector() -> None:
    try:
        with paused():
            raise ValueError("boom")
    except ValueError:
        pass
    assert gc.isenabled()
