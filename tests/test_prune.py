"""Helper tree shaking (symact.prune): a generated file carries the helper definitions it
calls and no others, and no two helpers share a name."""

from __future__ import annotations

import pytest

from symact import prune
from symact.printing import C_HELPERS, NUMPY_HELPERS

GROUPS = {"c": C_HELPERS, "py": NUMPY_HELPERS}


@pytest.mark.parametrize("lang", ["c", "py"])
def test_units_rejoin_to_each_group(lang):
    split = prune.c_units if lang == "c" else prune.py_units
    sep = "\n\n" if lang == "c" else "\n"
    for name, text in GROUPS[lang].items():
        assert sep.join(split(text)) == text, name


@pytest.mark.parametrize("lang", ["c", "py"])
def test_every_helper_name_defined_once(lang):
    """Two groups defining one name: in one file the later definition replaced the earlier
    (the erf group's _erf_one(w, a) and the Phi group's _erf_one(z, u, s) did, and a user
    expression with both erf and Phi failed)."""
    split = prune.c_units if lang == "c" else prune.py_units
    defined = prune.c_defined if lang == "c" else prune.py_defined
    names = [defined(u) for text in GROUPS[lang].values() for u in split(text)]
    assert None not in names
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)
    every = " ".join(names) if lang == "c" else f"x = [{', '.join(names)}]"
    assert prune.called(list(GROUPS[lang].values()), every, lang) == list(GROUPS[lang].values())


def test_c_keeps_what_is_called_and_its_callees():
    """dd_tanh calls dd_div and two_sum; dd_div calls two_prod and dd_norm; all use the
    symact_dd type (read from the helper's code). Nothing else of the group stays, and the
    other groups go."""
    kept = prune.called([C_HELPERS["symact_dd"], C_HELPERS["symact_exp_arg"]],
                        "double f(double x) { return symact_dd_tanh(x).hi; }", "c")
    assert len(kept) == 1
    assert [prune.c_defined(u) for u in prune.c_units(kept[0])] == [
        "symact_dd", "symact_dd_norm", "symact_two_sum", "symact_two_prod", "symact_dd_div",
        "symact_dd_tanh"]


def test_names_in_comments_and_docstrings_do_not_count():
    c = prune.called([C_HELPERS["symact_exp_arg"]], "/* symact_exp_of */ int y;", "c")
    py = prune.called([NUMPY_HELPERS["_pick"]], '"""_pick"""\n# _pick\nx = 1\n', "py")
    assert c == [] and py == []


def test_a_name_defined_twice_is_an_error():
    with pytest.raises(ValueError, match="two helpers define _f"):
        prune.called(["def _f(a):\n    return a", "def _f(a, b):\n    return b"], "_f(1)", "py")


@pytest.mark.parametrize("lang", ["c", "py"])
def test_fdlibm_notice_kept_with_its_coefficients(lang):
    """fdlibm's licence asks that its notice be preserved: whatever one helper keeps, if that
    embeds fdlibm's coefficients, the notice comes with it."""
    from symact.normal_helpers import PA, PP, RA, RB

    split = prune.c_units if lang == "c" else prune.py_units
    defined = prune.c_defined if lang == "c" else prune.py_defined
    texts = list(GROUPS[lang].values())
    marks = [repr(c) for c in (PP[1], PP[1] / 2, PA[1], RA[1], RB[1])]
    for name in [defined(u) for text in texts for u in split(text)]:
        kept = "\n".join(prune.called(texts, name if lang == "c" else f"{name}()", lang))
        if any(m in kept for m in marks):
            assert "Sun Microsystems" in kept, name
