"""Ctrl-C held back across a store write: delivered after it, or at once when pressed twice."""

from __future__ import annotations

import os
import signal
import time

import pytest

from evoforge.interrupts import held_interrupts


def _press() -> None:
    os.kill(os.getpid(), signal.SIGINT)


def test_ctrl_c_during_a_held_write_arrives_once_the_write_is_done() -> None:
    finished = []
    with pytest.raises(KeyboardInterrupt), held_interrupts():
        _press()
        time.sleep(0.05)  # the handler has run by now
        finished.append("the write")
    assert finished == ["the write"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_ctrl_c_pressed_twice_stops_a_slow_write_at_once() -> None:
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt), held_interrupts():
        _press()
        _press()
        time.sleep(30)  # a store busy for minutes
    assert time.monotonic() - started < 10
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
