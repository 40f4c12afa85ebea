"""One clock protocol: the real clock, the tests' fake and the sandbox's clock all fit it."""

from __future__ import annotations

import ast
import time
from pathlib import Path

import anyio
import pytest

from intelliauth_ext._clock import Clock, SystemClock
from intelliauth_ext.testing._clock import SandboxClock

from .auth_fakes import FakeClock

PACKAGE = Path(__file__).resolve().parents[2] / "intelliauth_ext"


def test_every_clock_is_a_clock() -> None:
    """SystemClock, the tests' FakeClock and the sandbox's clock satisfy the protocol."""
    assert isinstance(SystemClock(), Clock)
    assert isinstance(FakeClock(), Clock)
    assert isinstance(SandboxClock(), Clock)


def test_system_clock_reads_the_real_clocks() -> None:
    """SystemClock is time.time and time.monotonic."""
    clock = SystemClock()
    assert abs(clock.time() - time.time()) < 5
    assert abs(clock.monotonic() - time.monotonic()) < 5
    assert repr(clock) == "SystemClock()"


def test_the_package_has_one_clock_protocol() -> None:
    """The only classes named *Clock are the protocol and its two implementations."""
    found: dict[str, list[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ClassDef) and node.name.endswith("Clock"):
                bases = [ast.unparse(base) for base in node.bases]
                found[f"{path.relative_to(PACKAGE)}:{node.name}"] = bases
    assert found == {
        "_clock.py:Clock": ["Protocol"],
        "_clock.py:SystemClock": [],
        "testing/_clock.py:SandboxClock": [],
    }


def test_sandbox_clock_advance_moves_both_readings() -> None:
    """advance moves wall and monotonic time alike; now() is time(); it never goes back."""
    clock = SandboxClock()
    wall, mono = clock.time(), clock.monotonic()
    clock.advance(3600)
    assert clock.time() - wall == pytest.approx(3600, abs=5)
    assert clock.monotonic() - mono == pytest.approx(3600, abs=5)
    assert clock.now() == pytest.approx(clock.time(), abs=1)
    assert clock.isoformat().endswith("Z")
    with pytest.raises(ValueError, match="forward"):
        clock.advance(-1)


@pytest.mark.anyio
async def test_sandbox_clock_sleep_ends_when_advanced_past_its_deadline() -> None:
    """A sleeper wakes once advance has moved the clock past its deadline, not before."""
    clock = SandboxClock()
    woke = anyio.Event()

    async def sleeper() -> None:
        await clock.sleep(3600)
        woke.set()

    with anyio.fail_after(5):
        async with anyio.create_task_group() as group:
            group.start_soon(sleeper)
            await anyio.wait_all_tasks_blocked()
            clock.advance(3590)
            await anyio.wait_all_tasks_blocked()
            assert not woke.is_set()
            clock.advance(10)
    assert woke.is_set()


@pytest.mark.anyio
async def test_sandbox_clock_sleep_also_ends_by_real_time() -> None:
    """Without advance, a short sleep ends as real time passes; zero is a checkpoint."""
    clock = SandboxClock()
    with anyio.fail_after(5):
        await clock.sleep(0)
        start = time.monotonic()
        await clock.sleep(0.05)
    assert time.monotonic() - start >= 0.04
