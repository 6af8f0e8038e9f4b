from target_brevo.testing import CONTACT_SCHEMA, record, run, schema, state


def test_smoke(config, sandbox):
    msgs = [schema("contacts", base=CONTACT_SCHEMA)]
    msgs += [record("contacts", {"email": f"u{i}@example.com", "FIRSTNAME": f"U{i}"}) for i in range(30)]
    msgs += [state({"bookmarks": {"contacts": 1}})]
    res = run(config | {"contacts_mode": "import"}, msgs)
    print(res.stderr[-3000:])
    assert res.states == [{"bookmarks": {"contacts": 1}}]
    emails = {c.get("email") for c in sandbox.store("brevo")["contacts"]}
    assert "u29@example.com" in emails
