"""AppTest of the Beyond-digits image pages: Disentangled Sprites (shipped sprite β-VAEs) and Generation
Quality (shipped MNIST classifier)."""

from __future__ import annotations

import pytest
from apptest_helpers import SHIPPED, image_captions, ok, open_page

SPRITES = "app_pages/sprites_beta.py"
QUALITY = "app_pages/generation_quality.py"


def _sweep():
    from ui.compute.sprites import sweep_summary
    from vae_core.sprites.model import load_sprite_model, shipped_sprite_models, sweep_rows

    metas = {float(m["beta"]): m for m in (load_sprite_model(p)[1] for p in shipped_sprite_models(SHIPPED))}
    return sweep_summary(sweep_rows(list(metas.values()))), metas


def test_sprites_page_renders_the_sweep_and_wires_its_widgets():
    from ui.compute.sprites import model_dims

    sweep, metas = _sweep()
    assert len(sweep.rows) >= 2 and 1.0 in sweep.betas
    at = open_page(SPRITES, "mnist-z2")
    assert len(at.get("plotly_chart")) == 3  # MIG vs β, KL per dimension, MI heat map
    table = at.dataframe[0].value
    assert list(table["β"]) == [f"{b:g}" for b in sweep.betas]
    assert list(table["MIG"]) == [round(r.mig, 3) for r in sweep.rows]
    # opens on the best MIG: one traversal row per active dimension, largest KL first, after the starting sprite
    md = model_dims(metas[sweep.best.beta])
    caps = image_captions(at)
    assert caps[0].startswith("the starting sprite")
    assert [c.split(" ·")[0] for c in caps[1:]] == [f"z{r.dim}" for r in md.dims if r.active]
    assert any(f"At β = {sweep.best.beta:g}: **{md.n_active}** active" in m.value for m in at.markdown)
    # every dimension, and another β
    at.session_state["sprites_all"] = True
    at.session_state["sprites_beta"] = sweep.base.beta
    at.run()
    ok(at)
    md = model_dims(metas[sweep.base.beta])
    caps = image_captions(at)
    assert [c.split(" ·")[0] for c in caps[1:]] == [f"z{r.dim}" for r in md.dims]
    assert any(f"At β = {sweep.base.beta:g}:" in m.value for m in at.markdown)


def test_quality_page_table_and_live_score():
    from vae_core.digits.quality import stored_scores

    at = open_page(QUALITY, "mnist-z2")
    table, refs = at.dataframe[0].value, at.dataframe[1].value
    assert list(table["model"]) == [r.name for r in stored_scores(SHIPPED) if r.fid is not None]
    assert "mnist-z2" in list(table["model"])
    kinds = dict(zip(table["model"], table["that −ELBO bounds"], strict=True))
    assert kinds["mnist-z2"].startswith("BCE objective") and kinds["mnist-z20-bin"].startswith("−log P(x)")
    assert kinds["mnist-z20-cb"].startswith("−log p(x), continuous")
    fid = dict(zip(refs["reference"], refs["FID"], strict=True))
    assert fid["10,000 training digits"] < 0.01 * fid["10,000 images of uniform noise"]
    assert not [m for m in at.metric if m.label == "FID"]  # nothing measured before the button
    at.select_slider(key="gq_n").set_value(500)
    at.number_input(key="gq_seed").set_value(3)
    at.button(key="gq_go").click().run()
    ok(at)
    # the page shows score_model's result for the sidebar's model, n and seed (score_model: tests/vae_core)
    from vae_core import load_checkpoint, load_dataset
    from vae_core.digits.quality import classify, load_classifier, score_model

    clf, _ = load_classifier(SHIPPED / "mnist-classifier")
    model, _ = load_checkpoint(SHIPPED / "mnist-z2")
    ref = classify(clf, load_dataset("mnist", "test").images)[0]
    want = score_model(model, 500, 3, "bernoulli", clf, ref)
    assert 0 < want.fid < fid["10,000 images of uniform noise"] and 1.0 <= want.inception_score <= 10.0
    shown = {m.label: m.value for m in at.metric if m.label in ("FID", "IS", "samples")}
    assert shown == {"FID": f"{want.fid:.2f}", "IS": f"{want.inception_score:.2f}", "samples": "500"}
    assert image_captions(at)[-1] == "the first 32 prior samples of mnist-z2 (seed 3)"


def test_beta_lab_shows_the_shipped_sweeps_fid():
    import json

    at = open_page("app_pages/beta_lab.py", "mnist-z2")
    tables = [d.value for d in at.dataframe if "FID (lower is better)" in d.value.columns]
    assert len(tables) == 1
    t = tables[0]
    for name, fid, isc in zip(t["model"], t["FID (lower is better)"], t["IS (1–10)"], strict=True):
        tm = json.loads((SHIPPED / f"{name}.json").read_text())["test_metrics"]
        assert fid == pytest.approx(round(tm["fid"], 1)) and isc == pytest.approx(round(tm["inception_score"], 2))
    assert list(t["β"]) == sorted(t["β"])
    assert any("uniform noise" in c.value for c in at.caption)
