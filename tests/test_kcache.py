"""The on-disk kernel cache: a warm render equals a cold one, a changed key misses, a corrupt
entry is a miss."""

from __future__ import annotations

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
