"""vae_core.digits.applications.ood: the out-of-distribution sets."""

from __future__ import annotations

import math

import numpy as np
import torch
from tiny_models import fake_images

from vae_core.digits.applications import (
    inverted,
    ood_sets,
    rotated,
    sklearn_digits_upscaled,
    uniform_noise,
)
from vae_core.digits.drawing import center_of_mass


def test_ood_makers_shapes_and_ranges():
    x = fake_images(12)
    u = uniform_noise(5, seed=1)
    assert u.shape == (5, 784) and u.min() >= 0 and u.max() <= 1
    torch.testing.assert_close(uniform_noise(5, seed=1), u)
    torch.testing.assert_close(inverted(x), 1 - x)
    torch.testing.assert_close(rotated(x, 0), x)
    torch.testing.assert_close(rotated(x, 360), x)
    r = rotated(x, 90)
    assert r.shape == x.shape and r.min() >= 0 and r.max() <= 1
    torch.testing.assert_close(rotated(rotated(x, 90), -90), x, atol=1e-5, rtol=0)  # exact grid rotation
    # 90 degrees anticlockwise: a blob at the top-right goes to the top-left
    blob = torch.zeros(28, 28)
    blob[2:6, 20:24] = 1
    rr, cc = center_of_mass(rotated(blob.reshape(1, -1), 90)[0])
    assert rr < 8 and cc < 8
    sets = ood_sets(x, n=10, seed=0)
    assert list(sets)[0] == "uniform noise" and len(sets) == 5
    for name, t in sets.items():
        assert t.dim() == 2 and t.shape[1] == 784 and 1 <= t.shape[0] <= 10, name
        assert t.dtype == torch.float32 and t.min() >= 0 and t.max() <= 1, name


def test_sklearn_digits_upscaled_are_mnist_like():
    x, y = sklearn_digits_upscaled(40, seed=0, return_labels=True)
    assert x.shape == (40, 784) and y.shape == (40,) and x.min() >= 0 and x.max() <= 1
    for img in x:
        r, c = center_of_mass(img)
        assert math.hypot(r - 13.5, c - 13.5) <= 1.0
        rows = np.flatnonzero(img.reshape(28, 28).numpy().max(1) > 0.05)
        cols = np.flatnonzero(img.reshape(28, 28).numpy().max(0) > 0.05)
        assert max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 <= 22
    assert sklearn_digits_upscaled().shape == (1797, 784)


def test_ood_sets_names_angles_and_subset():
    x = fake_images(30)
    sets = ood_sets(x, n=8, seed=4, angles=(45, 135.5))
    assert list(sets) == ["uniform noise", "inverted", "rotated 45°", "rotated 135.5°", "sklearn 8×8 digits, upscaled"]
    assert all(t.shape == (8, 784) for t in sets.values())
    # the transformed sets come from one seeded subset of the given digits
    inv = 1 - sets["inverted"]
    assert all(any(torch.equal(row, xi) for xi in x) for row in inv)
    torch.testing.assert_close(sets["rotated 45°"], rotated(inv, 45))
    again = ood_sets(x, n=8, seed=4, angles=(45, 135.5))
    assert all(torch.equal(again[k], sets[k]) for k in sets)
    assert list(ood_sets(x, n=8))[2:4] == ["rotated 90°", "rotated 180°"]  # the defaults
