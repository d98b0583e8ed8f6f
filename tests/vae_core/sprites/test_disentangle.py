"""MIG (vae_core.sprites.disentangle) against hand-computable cases and scikit-learn's mutual information."""

import math

import numpy as np
import pytest
from sklearn.metrics import mutual_info_score

from vae_core.sprites.disentangle import discretize, entropy, mig, mutual_information


def test_entropy_and_mutual_information_by_hand():
    assert entropy(np.array([0, 1, 2, 3])) == pytest.approx(math.log(4))
    assert entropy(np.array([5, 5, 5, 7])) == pytest.approx(-(0.75 * math.log(0.75) + 0.25 * math.log(0.25)))
    a = np.array([0, 0, 1, 1])
    assert mutual_information(a, np.array([3, 3, 9, 9])) == pytest.approx(math.log(2))  # a determines b
    assert mutual_information(a, np.array([0, 1, 0, 1])) == pytest.approx(0.0, abs=1e-12)  # independent


def test_mutual_information_matches_sklearn():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 7, 5000)
    b = (a + rng.integers(0, 3, 5000)) % 5
    assert mutual_information(a, b) == pytest.approx(mutual_info_score(a, b), rel=1e-10)


def test_discretize_equal_width_bins():
    x = np.array([0.0, 0.049, 0.051, 0.5, 1.0])
    assert discretize(x, bins=20)[:, 0].tolist() == [0, 0, 1, 10, 19]
    assert discretize(np.full(5, 3.0), bins=20)[:, 0].tolist() == [0] * 5  # constant column: one bin


def _factors(n, rng):
    return np.stack([rng.integers(0, 3, n), rng.integers(0, 6, n), rng.integers(0, 16, n)], axis=1)


def test_mig_is_one_when_each_factor_has_its_own_latent():
    rng = np.random.default_rng(1)
    f = _factors(20000, rng)
    z = np.concatenate([f.astype(float) * 0.37 + 1.0, rng.normal(size=(20000, 3))], axis=1)
    res = mig(z, f)
    assert res.mig > 0.97  # 1 up to the plug-in bias of the noise latents
    assert res.best_latent.tolist() == [0, 1, 2]
    np.testing.assert_allclose(res.factor_entropy, [math.log(3), math.log(6), math.log(16)], rtol=1e-2)


def test_mig_is_zero_for_noise_and_for_a_duplicated_latent():
    rng = np.random.default_rng(2)
    f = _factors(20000, rng)
    assert mig(rng.normal(size=(20000, 5)), f).mig < 0.02
    # the factors captured perfectly, but each twice: the gap between the top two latents is 0
    z = np.concatenate([f, f], axis=1).astype(float)
    assert mig(z, f).mig == pytest.approx(0.0, abs=1e-12)


def test_mig_of_an_entangled_rotation_is_lower_than_of_the_aligned_code():
    rng = np.random.default_rng(3)
    f = np.stack([rng.integers(0, 16, 20000), rng.integers(0, 16, 20000)], axis=1)
    aligned = f + rng.normal(scale=0.3, size=f.shape)
    rot = aligned @ np.array([[1, 1], [-1, 1]]) / math.sqrt(2)  # each latent mixes both factors
    assert mig(aligned, f).mig > 0.5 > mig(rot, f).mig


def test_mig_rejects_bad_shapes():
    with pytest.raises(ValueError):
        mig(np.zeros((10, 1)), np.zeros((10, 2)))
    with pytest.raises(ValueError):
        mig(np.zeros((10, 3)), np.zeros((9, 2)))
