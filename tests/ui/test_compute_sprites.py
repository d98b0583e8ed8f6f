"""ui.compute.sprites (Disentangled Sprites page) against independent computations: the sweep's best and base
model, one model's dimensions from its stored metrics, and a traversal decoded by hand on a shipped model."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ui.compute.sprites import central_example, factor_text, model_dims, sprite_traversal, sweep_summary
from ui.state import SHIPPED_DIR
from vae_core.sprites import data as sp
from vae_core.sprites.model import load_sprite_model, shipped_sprite_models, sweep_rows


def _meta(beta, mig, kl_per_dim, mi=None):
    d = len(kl_per_dim)
    return {"name": f"b{beta:g}", "beta": beta, "test_metrics": {
        "mig": mig, "kl": float(sum(kl_per_dim)), "recon": 100.0 / (1 + beta), "neg_elbo": 120.0,
        "kl_per_dim": list(kl_per_dim), "mig_per_factor": {f: mig for f in sp.FACTOR_NAMES},
        "mi_normalised": np.zeros((d, 5)).tolist() if mi is None else mi}}


def test_sweep_summary_best_and_base():
    rows = sweep_rows([_meta(8.0, 0.18, [1.0]), _meta(1.0, 0.04, [1.0]), _meta(4.0, 0.05, [1.0])])
    s = sweep_summary(rows)
    assert s.betas == [1.0, 4.0, 8.0]
    assert s.best.beta == 8.0 and s.base.beta == 1.0
    with pytest.raises(ValueError):
        sweep_summary([])


def test_model_dims_orders_by_kl_and_names_the_clean_ones():
    mi = np.zeros((4, 5))
    mi[0, 3], mi[0, 4] = 0.8, 0.1  # z0 holds x, cleanly
    mi[1, 1], mi[1, 0] = 0.3, 0.25  # z1 mixes scale and shape
    mi[3, 2] = 0.5  # z3 holds rotation but is inactive
    md = model_dims(_meta(4.0, 0.1, [2.0, 1.0, 0.02, 0.05], mi.tolist()))
    assert [r.dim for r in md.dims] == [0, 1, 3, 2]
    assert md.n_active == 2
    assert [(r.dim, r.factor) for r in md.clean] == [(0, "x")]
    np.testing.assert_array_equal(md.mi, mi)


def test_central_example_and_factor_text():
    ex = sp.make_sprites(12, seed=7)
    i = central_example(ex)
    dist = [(ex.factor_values("x")[k] - 32) ** 2 + (ex.factor_values("y")[k] - 32) ** 2 for k in range(len(ex))]
    assert dist[i] == min(dist)
    assert factor_text(ex, i, "shape") in sp.SHAPES
    assert factor_text(ex, i, "rotation").endswith("°") and factor_text(ex, i, "x").endswith(" px")


@pytest.fixture(scope="module")
def shipped_sprites():
    paths = shipped_sprite_models(SHIPPED_DIR)
    assert paths, "no shipped sprites-beta* checkpoints"
    return load_sprite_model(paths[-1])


def test_traversal_is_the_decoder_with_one_coordinate_changed(shipped_sprites):
    model, meta = shipped_sprites
    md = model_dims(meta)
    ex = sp.make_sprites(12, seed=7)
    i = central_example(ex)
    tr = sprite_traversal(model, ex.images[i], md.dims, 2.5, 9, show_all=False)
    assert [r.dim for r in tr.dims] == [r.dim for r in md.dims if r.active]
    assert tr.images.shape == (md.n_active, 9, 64, 64)
    np.testing.assert_allclose(tr.values, np.linspace(-2.5, 2.5, 9))
    with torch.no_grad():  # independently: encode, overwrite one coordinate, decode
        z = model.encode(ex.flat()[i:i + 1])[0].repeat(9, 1)
        for row, r in enumerate(tr.dims):
            zr = z.clone()
            zr[:, r.dim] = torch.from_numpy(tr.values).float()
            want = model.decode(zr).reshape(9, 64, 64).numpy()
            np.testing.assert_allclose(tr.images[row], want, atol=1e-5)
    every = sprite_traversal(model, ex.images[i], md.dims, 1.0, 5, show_all=True)
    assert sorted(r.dim for r in every.dims) == list(range(model.latent_dim))
    assert every.images.shape == (model.latent_dim, 5, 64, 64)


def test_traversal_of_a_model_without_active_dimensions_is_none(shipped_sprites):
    model, meta = shipped_sprites
    meta = dict(meta, test_metrics=dict(meta["test_metrics"], kl_per_dim=[0.0] * model.latent_dim))
    md = model_dims(meta)
    assert md.n_active == 0
    assert sprite_traversal(model, np.zeros((64, 64)), md.dims, 2.0, 5, show_all=False) is None
