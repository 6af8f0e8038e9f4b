"""R2 crash and resume: SIGKILL the whole pipeline at random points, resume, compare with one run.

Each round starts ``tap | map-brevo | target-brevo`` (real subprocesses) with the last STATE
target-brevo printed so far, and SIGKILLs all three processes at a seeded random moment. After the
kills, a last run goes to completion. Brevo must then hold what one uninterrupted run puts into a
separate sandbox with the same seed: the same contacts (by identifier, with their attributes,
blocklist flags and list memberships), the same lists (none twice), the same products and orders,
no duplicate contact, and every event.

Events are compared as a set. singer-sdk targets emit STATE mostly at the end of their input
(shared/docs/singer-sdk.md), so a crash usually means re-reading from the last completed run, and
Brevo's event endpoints have no idempotency key: an event sent before the crash is sent again.
That is Singer's at-least-once contract; the test reports the re-sent count and asserts none is
lost.
"""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Any

import pipeline as P  # noqa: N812 - tests/pipeline.py, on sys.path through tests/conftest.py
import pytest

from sandbox.app import Sandbox

SEED = 42


# Contacts written synchronously (POST /contacts, paced fast), so list memberships find their
# contacts: with the default asynchronous imports they are lost (test_import_mode_* below).
SYNC_CONTACTS = {"contacts_mode": "single", "rate_limits": {"contacts": 500, "default": 500}}


def uninterrupted(vendor: str, scale: str, workdir: Path,
                  target: dict[str, Any] | None = None) -> tuple[dict[str, Any], float]:
    """Brevo after one clean run in its own sandbox, and how long that run took.

    The view carries ``rejected_memberships``: (email, list) pairs the clean run rejected as
    ``contact_not_found``, i.e. list members whose only Brevo contact is the one their events
    create (memberships are sent before events). After a crash, that contact may already exist,
    so the membership may land: the one difference a resumed run is allowed.
    """
    sb = Sandbox([vendor, "brevo"], seed=SEED, scale=scale, rate_limits="off").start(0)
    try:
        run = P.Pipeline(vendor, sb.urls(), workdir, target_overrides=target or {}).run(timeout=300)
        assert run.ok, run.explain()
        assert run.states, "target-brevo printed no STATE: nothing to resume from"
        with sb.lock:
            store = sb.vendors["brevo"].store()
    finally:
        sb.stop()
    view = P.brevo_view(store)
    assert view["contacts"], "the clean run moved no contact: the suite would prove nothing"
    view["rejected_memberships"] = {
        (r["record_key"].split("|", 1)[1].lower(), r["record_key"].split("|", 1)[0])
        for r in run.rejects if r["reason"] == "contact_not_found" and "|" in str(r["record_key"])}
    return view, run.seconds


def crash_and_resume(vendor: str, handle: Any, workdir: Path, kills: int, window: float,
                     rng: random.Random, target: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Kill the pipeline ``kills`` times at random moments in ``(0, window)``, then finish it.

    Returns the log of rounds (what state each started from, when it was killed, its states).
    """
    pipe = P.Pipeline(vendor, handle.urls, workdir, target_overrides=target or {})
    state: dict[str, Any] | None = None
    rounds: list[dict[str, Any]] = []
    while len([r for r in rounds if r["killed"]]) < kills:
        delay = rng.uniform(0.05, window)
        running = pipe.start(state)
        deadline = time.monotonic() + delay
        while time.monotonic() < deadline and not running.done():
            time.sleep(0.02)
        if not running.done():
            running.kill()
        run = running.wait(60)
        rounds.append({"from_state": state is not None, "delay": round(delay, 2), "killed": run.killed,
                       "states": len(run.states), "ok": run.ok})
        if not run.killed:
            assert run.ok, run.explain()
        if run.states:  # the last STATE the target printed is what a runner would have saved
            state = run.states[-1]
    final = pipe.run(state, timeout=300)
    assert final.ok, final.explain()
    rounds.append({"from_state": state is not None, "killed": False, "states": len(final.states),
                   "ok": True})
    return rounds


def check_same_as_uninterrupted(handle: Any, want: dict[str, Any], rounds: list[dict[str, Any]]) -> None:
    got = P.brevo_view(handle.store("brevo"))
    assert got["duplicate_contacts"] == [], "one identifier, two contacts"
    for key, contact in got["contacts"].items():
        before = want["contacts"].get(key, {}).get("lists", [])
        contact["lists"] = [name for name in contact["lists"] if name in before
                            or (contact["email"], name) not in want["rejected_memberships"]]
    assert got["contacts"] == want["contacts"], (
        P.diff_contacts(got["contacts"], want["contacts"]) + f"\nrounds: {rounds}")
    assert got["list_names"] == want["list_names"], "a list is missing or was created twice"
    for key in ("products", "orders", "categories"):
        assert got[key] == want[key], key
    lost = set(want["events"]) - set(got["events"])
    assert not lost, f"{len(lost)} events lost, e.g. {next(iter(lost))}"
    unknown = set(got["events"]) - set(want["events"])
    assert not unknown, f"{len(unknown)} events an uninterrupted run does not send, e.g. {next(iter(unknown))}"


@pytest.mark.parametrize("vendor", ["klaviyo", "braze", "iterable"])
def test_three_crashes_then_resume(vendor: str, make_sandbox: Any, tmp_path: Path) -> None:
    want, seconds = uninterrupted(vendor, "tiny", tmp_path / "clean", SYNC_CONTACTS)
    sb = make_sandbox(vendors=[vendor, "brevo"], seed=SEED)
    rng = random.Random(f"r2:{vendor}")
    rounds = crash_and_resume(vendor, sb, tmp_path / "crashed", kills=3, window=seconds, rng=rng,
                              target=SYNC_CONTACTS)
    assert sum(r["killed"] for r in rounds) == 3
    check_same_as_uninterrupted(sb, want, rounds)


def test_import_mode_three_crashes_then_resume(make_sandbox: Any, tmp_path: Path) -> None:
    """The default (asynchronous import) contacts path, Klaviyo's lists and segments."""
    want, seconds = uninterrupted("klaviyo", "tiny", tmp_path / "clean")
    sb = make_sandbox(vendors=["klaviyo", "brevo"], seed=SEED)
    rng = random.Random("r2:import")
    rounds = crash_and_resume("klaviyo", sb, tmp_path / "crashed", kills=3, window=seconds, rng=rng)
    assert sum(r["killed"] for r in rounds) == 3
    check_same_as_uninterrupted(sb, want, rounds)
    # Whatever the kill timing, the lists made from Klaviyo list/segment ids must have members.
    member_lists = {name for name in want["list_names"] if len(name) == 6 and name.isalnum() and name.isupper()}
    assert member_lists, "the Klaviyo list and segment memberships made no list"
    members = [c for c in want["contacts"].values() if member_lists & set(c["lists"])]
    assert members, "the uninterrupted run put nobody in the Klaviyo lists and segments"


@pytest.mark.slow
@pytest.mark.parametrize("vendor", ["klaviyo", "braze", "iterable"])
def test_twenty_crashes_then_resume(vendor: str, make_sandbox: Any, tmp_path: Path) -> None:
    want, seconds = uninterrupted(vendor, "small", tmp_path / "clean", SYNC_CONTACTS)
    sb = make_sandbox(vendors=[vendor, "brevo"], seed=SEED, scale="small")
    rng = random.Random(f"r2-long:{vendor}")
    rounds = crash_and_resume(vendor, sb, tmp_path / "crashed", kills=20, window=seconds, rng=rng,
                              target=SYNC_CONTACTS)
    assert sum(r["killed"] for r in rounds) == 20
    check_same_as_uninterrupted(sb, want, rounds)
