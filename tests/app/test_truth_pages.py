"""AppTests of the teaching-truth sections (#11): each page renders them with a shipped model, and the numbers
shown are the ones vae_core.theory computes (tests/truth/ checks those against independent computations)."""

from __future__ import annotations

import re

import torch
from apptest_helpers import SHIPPED, ok, open_page

from vae_core import load_checkpoint, load_dataset
from vae_core.theory.elbo import theta_counterexample


def _text(at) -> str:
    return " ".join(m.value for m in at.markdown) + " " + " ".join(c.value for c in at.caption)


def test_anomaly_says_what_the_score_cannot_tell():
    at = open_page("app_pages/anomaly.py", "mnist-z2")
    ok(at)
    text = _text(at)
    assert "What the score cannot tell" in [h.value for h in at.subheader]
    m = re.search(r"lower \(more normal\) than \*\*([\d.]+) %\*\*", text)
    assert m and float(m.group(1)) >= 95  # the all-black page beats >= 95 % of real digits
    assert "neither encode nor redraw" not in text


def test_exact_identity_no_false_sign_claim():
    at = open_page("app_pages/exact_identity.py", "mnist-z2")
    text = _text(at)
    assert "because log p(x) of a continuous x is a log-density" not in text
    assert "s = 0.1" in text and "Cor 1.3" in text


def test_elbo_page_exact_check_and_notes():
    at = open_page("app_pages/elbo_bounds.py", "mnist-z2-beta0.5")
    ok(at)
    text = _text(at)
    assert "reverse" in text and "Cor. 1.3 holds over" in text and "1/β" in text
    t = theta_counterexample()
    shown = " ".join(d.value.to_string() for d in at.dataframe)
    assert f"{round(t['b']['elbo'], 3)}" in shown and f"{round(t['b']['log_px'], 3)}" in shown
    at.toggle(key="eb_exact").set_value(True).run()
    ok(at)
    table = next(d.value for d in at.dataframe if "quantity" in d.value.columns)
    row = table[table["quantity"].str.startswith("β-objective")].iloc[0]
    assert "above the exact value" in row["against the exact value"]  # β = 0.5: not a bound
    model = load_checkpoint(SHIPPED / "mnist-z2-beta0.5")[0]
    assert model.latent_dim == 2 and len(load_dataset("mnist", "test")) > 0
    torch.set_grad_enabled(True)


def test_beta_lab_collapse_is_not_the_optimum():
    from vae_core.theory.collapse import beta_vs_collapsed

    at = open_page("app_pages/beta_lab.py", "mnist-z2")
    ok(at)
    text = _text(at)
    assert "collapsed code is still the optimum" not in text
    m = re.search(r"\*\*([\d.]+) nats better\*\* than any collapsed code", text)
    assert m, "the collapse comparison is missing"
    model = load_checkpoint(SHIPPED / "mnist-z2-beta16")[0]
    test = load_dataset("mnist", "test")
    r = beta_vs_collapsed(model, test.images, 16.0)
    assert abs(float(m.group(1)) - round(r["margin"], 1)) < 0.15
    assert "weaker" in text and "too strong" in text


def test_reparameterisation_has_reinforce_with_and_without_baseline():
    at = open_page("app_pages/reparameterisation.py", "mnist-z2")
    ok(at)
    table = at.dataframe[-1].value
    assert list(table[""]) == ["true value", "reparameterised", "REINFORCE, no baseline", "REINFORCE, baseline"]
    assert "without a baseline" in _text(at) or "no **baseline**" in _text(at)


def test_home_separates_the_elbo_from_the_beta_objective():
    from apptest_helpers import new_app

    at = new_app("mnist-z2")
    at.run()
    ok(at)
    formulas = " ".join(x.value for x in at.get("latex"))
    assert r"\text{only when } \beta \ge 1" in formulas
    assert r"\beta\,\underbrace" not in formulas  # the β-objective is no longer shown as a bound on log p(x)
