"""R1 faults: each pipeline into Brevo completes under scripted faults, and loses nothing.

Every run goes ``tap | map-brevo | target-brevo`` (real subprocesses) against a sandbox that
injects faults on both sides: the source vendor's API and Brevo's. The expected Brevo account is
the one a fault-free run produces in a second sandbox with the same seed. Under faults, Brevo
must hold exactly that (contacts by identifier, attributes, list memberships, lists), the
rejects must be the same records for the same reasons (a record rejected because of a
transient fault is a lost record), no contact may exist twice, and no event may be missing.

Faults that strike *after* Brevo has applied a write (a connection reset, a truncated or a
too-slow response) make the client retry a write that already happened. Brevo's event
endpoints have no idempotency key, so those may store an event twice: events are checked as
"none lost" under such faults, and "exactly once" under faults answered before the write
(429, 5xx).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pipeline as P  # noqa: N812 - tests/pipeline.py, on sys.path through tests/conftest.py
import pytest

from sandbox.app import Sandbox

VENDORS = ["klaviyo", "braze", "iterable"]
SEED = 42


@pytest.fixture(scope="module")
def baselines(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The fault-free result per vendor (computed once, on first use)."""
    cache: dict[str, dict[str, Any]] = {}

    def get(vendor: str, scale: str = "tiny") -> dict[str, Any]:
        if (vendor, scale) not in cache:
            sb = Sandbox([vendor, "brevo"], seed=SEED, scale=scale, rate_limits="off").start(0)
            try:
                pipe = P.Pipeline(vendor, sb.urls(), tmp_path_factory.mktemp(f"base-{vendor}-{scale}"))
                run = pipe.run()
                assert run.ok, run.explain()
                # Source records that share one email (the sandbox's data does this on purpose).
                emails = Counter(r["email"].lower() for r in pipe.mapped()
                                 if r["_stream"].endswith("_contacts") and r.get("email"))
                with sb.lock:
                    store = sb.vendors["brevo"].store()
            finally:
                sb.stop()
            view = P.brevo_view(store)
            assert view["duplicate_contacts"] == []
            assert view["contacts"], "the baseline moved no contact: the suite would prove nothing"
            assert view["events"], "the baseline moved no event: the suite would prove nothing"
            cache[vendor, scale] = {"view": view, "rejects": reject_keys(run.rejects), "run": run,
                                    "shared": {f"email:{e}" for e, n in emails.items() if n > 1}}
        return cache[vendor, scale]

    return get


def reject_keys(rejects: list[dict[str, Any]]) -> Counter[tuple[str, str, str]]:
    return Counter((r["stream"], str(r.get("record_key")), r["reason"]) for r in rejects)


def fault_script(vendor: str, kinds: list[str]) -> str:
    """A fault script for the given kinds on the source API and on Brevo.

    Scripted counts (``#N``, with ``+SKIP`` to spread them) make each kind fire on every run
    even at tiny scale; percentages add random 5xx on top. Faults that strike after Brevo has
    applied a write spare list and folder creation here: ``test_a_lost_create_response_*``
    covers that case alone.
    """
    # Braze's export files are not JSON: test_braze_export_file_* covers them.
    src, dst = f"~^/{vendor}/(?!export-files/)", "~^/brevo/"
    after = r"~^/brevo/v3/(?!contacts/(lists|folders)$)"
    rules = {
        "ratelimit": [f"ratelimit#3{src}", f"ratelimit#2+3{dst}"],
        "5xx": [f"503@0.2{src}", f"500#2+1{src}", f"502@0.1{dst}", f"500#2+2{dst}"],
        "reset": [f"reset#2+1{src}", f"reset#2+4{after}"],
        "slow": [f"slow:3#1+2{src}", f"slow:3#1+5{after}"],
        "truncate": [f"truncate#2+2{src}", f"truncate#1+6{after}", f"invalid_json#1+3{src}"],
    }
    if vendor == "braze":
        # tap-braze backs off from a fixed 2 s (no setting), so one fault of each kind is
        # enough; its unparsable-JSON bug has its own xfail test below.
        rules |= {
            "ratelimit": [f"ratelimit#1{src}", f"ratelimit#2+3{dst}"],
            "5xx": [f"500#1+1{src}", f"502@0.1{dst}", f"500#2+2{dst}"],
            "reset": [f"reset#1+1{src}", f"reset#2+4{after}"],
            "slow": [f"slow:3#1+2{src}", f"slow:3#1+5{after}"],
            "truncate": [f"truncate#1+6{after}"],
        }
    return ",".join(r for kind in kinds for r in rules[kind])


# Faults answered before the sandbox applies the request: a retry cannot duplicate a write.
BEFORE_WRITE = {"ratelimit", "500", "502", "503"}


def check_against_baseline(handle: Any, run: Any, base: dict[str, Any]) -> None:
    assert run.ok, run.explain()
    got = P.brevo_view(handle.store("brevo"))
    want = base["view"]
    assert got["duplicate_contacts"] == [], "one identifier, two contacts"
    # Expected minus rejects: the same records rejected for the same reasons, none for faults.
    assert reject_keys(run.rejects) == base["rejects"]
    # Where two source records share an email (the sandbox's data does that on purpose), the
    # winner is whichever import Brevo applies last: concurrent imports, and retried ones, make
    # that timing-dependent. Such contacts must exist; their attributes are not compared.
    assert set(got["contacts"]) == set(want["contacts"]), P.diff_contacts(got["contacts"], want["contacts"])
    got["contacts"] = {k: v for k, v in got["contacts"].items() if k not in base["shared"]}
    want = {**want, "contacts": {k: v for k, v in want["contacts"].items() if k not in base["shared"]}}
    assert got["contacts"] == want["contacts"], P.diff_contacts(got["contacts"], want["contacts"])
    assert got["list_names"] == want["list_names"], "lists missing or created twice"
    missing = want["events"] - got["events"]
    assert not missing, f"{sum(missing.values())} events lost, e.g. {next(iter(missing))}"
    # Exactly once, unless a write to an events endpoint lost its response after being applied.
    ambiguous = [f for f in handle.sb.faults.recent  # the last 500; stats() shows only 50
                 if f["kind"] not in BEFORE_WRITE and f["path"].startswith("/brevo/v3/events")]
    if not ambiguous:
        extra = got["events"] - want["events"]
        assert not extra, f"{sum(extra.values())} events stored twice, e.g. {next(iter(extra))}"
    for key in ("products", "orders", "categories"):
        assert got[key] == want[key]
    assert run.summary["records_received"] == base["run"].summary["records_received"]


def fired(handle: Any, vendor: str) -> dict[str, Counter[str]]:
    """Injected faults by side (source vendor / brevo) and kind."""
    out: dict[str, Counter[str]] = {vendor: Counter(), "brevo": Counter()}
    for entry in list(handle.sb.faults.recent):
        side = "brevo" if entry["path"].startswith("/brevo/") else vendor
        out[side][entry["kind"]] += 1
    return out


@pytest.mark.parametrize("vendor", VENDORS)
def test_every_fault_kind_at_once(vendor: str, make_sandbox: Any, baselines: Any, tmp_path: Path) -> None:
    """429 storms, 5xx, resets, slow responses past the timeout and truncated JSON, on both sides."""
    kinds = ["ratelimit", "5xx", "reset", "slow", "truncate"]
    base = baselines(vendor)
    # Fast limits: the injected 429s carry the vendor's reset headers, shortened.
    sb = make_sandbox(vendors=[vendor, "brevo"], seed=SEED, rate_limits="fast")
    sb.faults(fault_script(vendor, kinds))
    run = P.Pipeline(vendor, sb.urls, tmp_path).run(timeout=150)
    check_against_baseline(sb, run, base)
    seen = fired(sb, vendor)
    for side in (vendor, "brevo"):
        for kind in ("ratelimit", "reset", "slow", "truncate"):
            if (side, kind) == ("braze", "truncate"):
                continue  # test_braze_unparsable_json_is_retried
            assert seen[side][kind] > 0, f"no {kind} fault reached {side}: {dict(seen[side])}"
        assert sum(n for k, n in seen[side].items() if k.startswith("5")) > 0


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["ratelimit", "5xx", "reset", "slow", "truncate"])
@pytest.mark.parametrize("vendor", VENDORS)
def test_one_fault_kind_at_scale(vendor: str, kind: str, make_sandbox: Any, baselines: Any,
                                 tmp_path: Path) -> None:
    """Each kind alone, at small scale and with random rates, so retries hit every endpoint."""
    base = baselines(vendor, "small")
    sb = make_sandbox(vendors=[vendor, "brevo"], seed=SEED, scale="small", rate_limits="fast")
    src, dst = f"~^/{vendor}/", "~^/brevo/"
    after = r"~^/brevo/v3/(?!contacts/(lists|folders)$)"
    spec = {
        "ratelimit": f"ratelimit@0.3#15{src},ratelimit@0.3#6{dst}",
        "5xx": f"503@0.3{src},500@0.1{src},502@0.3{dst},500@0.1{dst}",
        "reset": f"reset@0.2{src},reset@0.1{after}",
        "slow": f"slow:3@0.05#4{src},slow:3@0.05#3{after}",
        "truncate": f"truncate@0.2{src},invalid_json@0.1{src},truncate@0.1{after}",
    }[kind]
    if vendor == "braze":
        # Export files live on storage, not the API (test_braze_export_file_*), and the
        # unparsable-JSON bug has its own xfail test.
        spec = spec.replace(src, "~^/braze/(?!export-files/)").replace(
            "invalid_json@0.1~^/braze/(?!export-files/),", "")
    if vendor == "iterable":  # test_iterable_list_users_non_text_body_is_retried
        spec = spec.replace(f"invalid_json@0.1{src}", r"invalid_json@0.1~^/iterable/(?!api/lists/getUsers)")
    sb.faults(spec)
    run = P.Pipeline(vendor, sb.urls, tmp_path).run(timeout=600)
    check_against_baseline(sb, run, base)
    assert sb.stats()["faults"]["total"] > 0


@pytest.mark.parametrize("kind", ["reset", pytest.param("slow:3", marks=pytest.mark.slow),
                                  pytest.param("truncate", marks=pytest.mark.slow)])
def test_a_lost_create_response_does_not_duplicate_lists(kind: str, make_sandbox: Any, baselines: Any,
                                                         tmp_path: Path) -> None:
    """Brevo created the list, the answer never arrived: the retry must not create it again."""
    base = baselines("klaviyo")
    sb = make_sandbox(vendors=["klaviyo", "brevo"], seed=SEED)
    name, _, delay = kind.partition(":")
    sb.faults([{"kind": name, "delay": float(delay or 0), "count": 1, "method": "POST",
                "path": "^/brevo/v3/contacts/lists$"}])
    run = P.Pipeline("klaviyo", sb.urls, tmp_path).run()
    assert run.ok, run.explain()
    assert sb.stats()["faults"]["by_kind"] == {name: 1}
    got = P.brevo_view(sb.store("brevo"))
    assert got["list_names"] == base["view"]["list_names"], "a list was created twice"
    assert got["contacts"] == base["view"]["contacts"]


@pytest.mark.parametrize("kind", ["truncate", pytest.param("reset", marks=pytest.mark.slow),
                                  pytest.param("503", marks=pytest.mark.slow)])
def test_braze_export_file_download_is_retried(kind: str, make_sandbox: Any, baselines: Any,
                                               tmp_path: Path) -> None:
    """A cut-off or failed download of a segment export file is fetched again."""
    base = baselines("braze")
    sb = make_sandbox(vendors=["braze", "brevo"], seed=SEED)
    sb.faults(f"{kind}#2~^/braze/export-files/")
    run = P.Pipeline("braze", sb.urls, tmp_path).run()
    assert sb.stats()["faults"]["total"] == 2
    check_against_baseline(sb, run, base)


def test_braze_corrupt_export_file_is_downloaded_again(make_sandbox: Any, baselines: Any,
                                                       tmp_path: Path) -> None:
    base = baselines("braze")
    sb = make_sandbox(vendors=["braze", "brevo"], seed=SEED)
    sb.faults("invalid_json#1~^/braze/export-files/")
    run = P.Pipeline("braze", sb.urls, tmp_path).run()
    assert sb.stats()["faults"]["total"] == 1
    check_against_baseline(sb, run, base)


def test_braze_unparsable_json_is_retried(make_sandbox: Any, baselines: Any, tmp_path: Path) -> None:
    """A 200 whose JSON is cut off (length consistent) is retried like a 5xx."""
    base = baselines("braze")
    sb = make_sandbox(vendors=["braze", "brevo"], seed=SEED)
    sb.faults("invalid_json#1~^/braze/users/export/segment")
    run = P.Pipeline("braze", sb.urls, tmp_path).run()
    assert sb.stats()["faults"]["total"] == 1
    check_against_baseline(sb, run, base)


@pytest.mark.parametrize("mode", ["single", "auto"])
def test_every_source_membership_lands_or_is_rejected(mode: str, make_sandbox: Any, tmp_path: Path) -> None:
    """The computed expected set: each list membership the mapper emits is in Brevo, or rejected.

    ``auto`` is the default (asynchronous imports); ``single`` writes contacts synchronously.
    """
    sb = make_sandbox(vendors=["klaviyo", "brevo"], seed=SEED)
    pipe = P.Pipeline("klaviyo", sb.urls, tmp_path, target_overrides={
        "contacts_mode": mode, "rate_limits": {"contacts": 500, "default": 500}})
    wanted = {(r["email"].lower(), str(r.get("list_name") or r.get("list_id")))
              for r in pipe.mapped()
              if r["_stream"].endswith("list_memberships") and r.get("email") and r.get("action", "add") == "add"}
    assert len(wanted) > 50, "the source has too few memberships for the test to mean anything"
    run = pipe.run()
    assert run.ok, run.explain()
    rejected = {(r["record_key"].split("|", 1)[1].lower(), r["record_key"].split("|", 1)[0])
                for r in run.rejects if r["stream"].endswith("list_memberships")}
    view = P.brevo_view(sb.store("brevo"))
    held = {(c["email"], name) for c in view["contacts"].values() if c["email"] for name in c["lists"]}
    lost = wanted - held - rejected
    assert not lost, f"{len(lost)} of {len(wanted)} memberships neither in Brevo nor rejected, e.g. {sorted(lost)[:3]}"


def test_iterable_list_users_non_text_body_is_retried(make_sandbox: Any, baselines: Any,
                                                      tmp_path: Path) -> None:
    base = baselines("iterable")
    sb = make_sandbox(vendors=["iterable", "brevo"], seed=SEED)
    sb.faults("invalid_json#1~^/iterable/api/lists/getUsers")
    run = P.Pipeline("iterable", sb.urls, tmp_path).run()
    assert sb.stats()["faults"]["total"] == 1
    check_against_baseline(sb, run, base)
