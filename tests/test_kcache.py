"""The on-disk kernel cache: a warm render equals a cold one, a changed key misses, a corrupt
entry is a miss."""

from __future__ import annotations

import json

import symact
from symact import emit, kcache

SAMPLE = ["leaky_relu", "silu", "hard_tanh"]  # parameters, a root patch, a cross-parameter rule


def _render(monkeypatch, tmp_path, enabled=True):
    monkeypatch.setenv("SYMACT_CACHE_DIR", str(tmp_path))
    if not enabled:
        monkeypatch.setenv("SYMACT_NO_CACHE", "1")
    else:
        monkeypatch.delenv("SYMACT_NO_CACHE", raising=False)
    return emit.render_all([symact.get(n) for n in SAMPLE])


def test_warm_render_equals_cold(monkeypatch, tmp_path):
    cold = _render(monkeypatch, tmp_path, enabled=False)
    assert not list(tmp_path.rglob("*.json"))  # disabled: nothing written
    first = _render(monkeypatch, tmp_path)  # fills the cache
    assert len(list(tmp_path.rglob("*.json"))) == len(SAMPLE)
    warm = _render(monkeypatch, tmp_path)  # reads it
    assert cold == first == warm


def test_corrupt_entry_is_a_miss(monkeypatch, tmp_path):
    cold = _render(monkeypatch, tmp_path, enabled=False)
    _render(monkeypatch, tmp_path)
    for path in tmp_path.rglob("*.json"):
        path.write_text("{not json", encoding="utf-8")
    assert _render(monkeypatch, tmp_path) == cold


def test_key_depends_on_definition_and_source(monkeypatch):
    a, b = symact.get("elu"), symact.get("celu")
    assert kcache.key(a) != kcache.key(b)
    before = kcache.key(a)
    monkeypatch.setattr(kcache, "_DIGEST", "another source tree")
    assert kcache.key(a) != before


def test_key_covers_every_field_of_the_entry():
    """The catalog module is outside the source digest, so an entry's own key must change
    with anything in it: definition, parameter ranges, texts, the cross-parameter rule."""
    import dataclasses

    from symact.activation import Activation
    from symact.catalog import Param

    spec = symact.get("leaky_relu").spec
    base = kcache.key(Activation(spec))
    variants = [
        dataclasses.replace(spec, build=lambda x, alpha: x * alpha),
        dataclasses.replace(spec, params=(Param("alpha", 0.02, low=0.0, low_open=True),)),
        dataclasses.replace(spec, params=(Param("alpha", 0.01, low=-1.0),)),
        dataclasses.replace(spec, description="changed"),
        dataclasses.replace(spec, conventions="changed"),
        dataclasses.replace(spec, requires=lambda alpha: alpha < 1),
    ]
    keys = [kcache.key(Activation(v)) for v in variants]
    assert base not in keys and len(set(keys)) == len(keys)
    assert "catalog.py" in kcache.NOT_IN_KEY


def test_record_regenerates_what_a_cold_run_wrote(monkeypatch, tmp_path):
    """generate's record (kernels.json in the output directory) stands in for the cache: with
    an empty user cache, a second render derives nothing and writes the same files."""
    monkeypatch.setattr(kcache, "CHECKOUT_OUTPUT", tmp_path / "no-checkout")
    out = tmp_path / "out"
    out.mkdir()
    monkeypatch.setenv("SYMACT_NO_CACHE", "1")
    cold = emit.render_all([symact.get(n) for n in SAMPLE], record={})
    assert kcache.RECORD in cold
    emit.write_files(out, cold)
    monkeypatch.delenv("SYMACT_NO_CACHE")
    monkeypatch.setenv("SYMACT_CACHE_DIR", str(tmp_path / "empty-cache"))

    def derive(act):
        raise AssertionError(f"{act.name} derived again")

    monkeypatch.setattr(emit, "_fresh_code", derive)
    warm = emit.render_all([symact.get(n) for n in SAMPLE], record=kcache.read_record(out))
    assert warm == cold


def test_record_is_ignored_when_the_cache_is_off_or_it_is_damaged(monkeypatch, tmp_path):
    monkeypatch.setattr(kcache, "CHECKOUT_OUTPUT", tmp_path / "no-checkout")
    act = symact.get("leaky_relu")
    path = tmp_path / kcache.RECORD
    path.write_text(kcache.record_text([(act, {"kernels": []})]), encoding="utf-8")
    monkeypatch.delenv("SYMACT_NO_CACHE", raising=False)
    assert list(kcache.read_record(tmp_path)) == [kcache.record_key(act)]
    monkeypatch.setenv("SYMACT_NO_CACHE", "1")
    assert kcache.read_record(tmp_path) == {}
    monkeypatch.delenv("SYMACT_NO_CACHE")
    good = json.loads(path.read_text(encoding="utf-8"))
    for damaged in ("{not json", "[]", json.dumps({**good, "format": kcache.FORMAT + 1}),
                    json.dumps({**good, "activations": [{"key": 1, "payload": {}}]}),
                    json.dumps({**good, "activations": None})):
        path.write_text(damaged, encoding="utf-8")
        assert kcache.read_record(tmp_path) == {}
    # a well-formed file whose entry does not decode is a miss, not an error
    bad_entry = {kcache.record_key(act): {"kernels": [{"no such field": 1}]}}
    monkeypatch.setenv("SYMACT_CACHE_DIR", str(tmp_path / "empty-cache"))
    assert emit._cached_code(act, bad_entry) is None


def test_record_key_leaves_out_the_sympy_version_only(monkeypatch):
    act = symact.get("elu")
    key, rkey = kcache.key(act), kcache.record_key(act)
    assert key != rkey
    monkeypatch.setattr(kcache, "_DIGEST", kcache._with_sympy(kcache._CODE_DIGEST) + "x")
    assert kcache.key(act) != key and kcache.record_key(act) == rkey
    monkeypatch.setattr(kcache, "_CODE_DIGEST", "another source tree")
    assert kcache.record_key(act) != rkey


def test_checkout_record_serves_any_output_directory(monkeypatch, tmp_path):
    """generate --out DIR (no record in DIR) still finds the committed generated/kernels.json,
    whose entries carry the catalog's keys."""
    monkeypatch.delenv("SYMACT_NO_CACHE", raising=False)
    entries = kcache.read_record(tmp_path)
    assert kcache.record_key(symact.get("gelu")) in entries
    monkeypatch.setattr(kcache, "CHECKOUT_OUTPUT", tmp_path / "no-checkout")
    assert kcache.read_record(tmp_path) == {}
