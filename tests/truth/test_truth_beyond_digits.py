"""The beyond-digits pages' formulas and claims (Word Map, Posterior Collapse (Text), Molecule VAE, Disentangled
Sprites, Generation Quality) checked against independent computations: numpy/scipy closed forms, Monte Carlo,
exact enumeration, hand-built examples, RDKit, and the shipped checkpoints re-measured. Listed by page in
tests/truth/FORMULAS.md. Each test takes seconds."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import scipy.linalg
import scipy.stats
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[2]
CKPT = ROOT / "checkpoints"


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


def _seq(name: str):
    from vae_core.sequence.checkpoint import load_seq_checkpoint

    return load_seq_checkpoint(CKPT / name)


def _tiny_seq(seed: int = 0, max_len: int = 10):
    from vae_core.sequence.model import SeqVAE
    from vae_core.sequence.vocab import Vocab

    torch.manual_seed(seed)
    return SeqVAE(Vocab.build("abcdefghijklmnopqrstuvwxyz"), latent_dim=3, embed_dim=8, enc_hidden=8,
                  dec_hidden=16, max_len=max_len)


# ================================================================== Generation Quality
def test_fid_zero_for_identical_sets_and_matches_scipy_sqrtm():
    from vae_core.digits.quality import fid_from_features, frechet_distance

    rng = np.random.default_rng(0)
    f = rng.normal(size=(500, 6)) @ rng.normal(size=(6, 6))
    assert fid_from_features(f, f) == pytest.approx(0.0, abs=1e-8)
    for d in (3, 8):
        a, b = rng.normal(size=(d, d)), rng.normal(size=(d, d))
        c1, c2 = a @ a.T + 0.05 * np.eye(d), b @ b.T + 0.05 * np.eye(d)
        m1, m2 = rng.normal(size=d), rng.normal(size=d)
        ref = float(((m1 - m2) ** 2).sum() + np.trace(c1 + c2 - 2 * np.real(scipy.linalg.sqrtm(c1 @ c2))))
        assert frechet_distance(m1, c1, m2, c2) == pytest.approx(ref, rel=1e-6)
        # the 2-Wasserstein distance's other closed form: Tr(C1 + C2 - 2 (C1^½ C2 C1^½)^½)
        s = np.real(scipy.linalg.sqrtm(c1))
        ref2 = float(((m1 - m2) ** 2).sum() + np.trace(c1 + c2 - 2 * np.real(scipy.linalg.sqrtm(s @ c2 @ s))))
        assert frechet_distance(m1, c1, m2, c2) == pytest.approx(ref2, rel=1e-6)


def test_fid_is_biased_upwards_with_fewer_samples():
    """The page: 'FID is biased upwards with fewer samples': two samples of one Gaussian, mean over seeds."""
    from vae_core.digits.quality import fid_from_features

    rng = np.random.default_rng(1)
    ref = rng.normal(size=(20_000, 16))
    mean_fid = {n: np.mean([fid_from_features(rng.normal(size=(n, 16)), ref) for _ in range(5)])
                for n in (200, 2_000)}
    assert mean_fid[200] > 3 * mean_fid[2_000] > 0  # the true distance is 0


def test_inception_score_between_1_and_10_and_its_entropy_form():
    from vae_core.digits.quality import inception_score

    rng = np.random.default_rng(2)
    for alpha in (0.05, 0.5, 5.0):
        p = rng.dirichlet(np.full(10, alpha), size=300)
        s = inception_score(p)
        assert 1.0 <= s <= 10.0
        # independent form: E KL(p(y|x) ‖ p(y)) = H(p(y)) − E H(p(y|x))
        ref = math.exp(scipy.stats.entropy(p.mean(0)) - np.mean(scipy.stats.entropy(p, axis=1)))
        assert s == pytest.approx(ref, rel=1e-6)
    assert inception_score(np.tile(np.eye(10), (3, 1))) == pytest.approx(10.0, rel=1e-6)  # the upper end


def test_classifier_architecture_is_what_the_page_says():
    """'conv 16 → conv 32 → 128 features → 10 classes', read from the shipped weights' shapes."""
    from safetensors.numpy import load_file

    w = load_file(CKPT / "mnist-classifier.safetensors")
    assert w["conv1.weight"].shape[:2] == (16, 1) and w["conv2.weight"].shape[:2] == (32, 16)
    assert w["fc1.weight"].shape[0] == 128 and w["fc2.weight"].shape == (10, 128)


# ================================================================== Disentangled Sprites
def test_mig_on_a_hand_built_code():
    """Two independent factors v1 ∈ {0,1}, v2 ∈ {0..3} on a full grid; z0 = v1, z1 = v2 // 2, z2 = v2.
    v1: only z0 knows it, gap ln2 / ln2 = 1; v2: z2 knows ln 4, runner-up z1 ln 2, gap (ln4 − ln2)/ln4 = ½;
    MIG = ¾."""
    from vae_core.sprites.disentangle import mig

    v1, v2 = np.meshgrid(np.arange(2), np.arange(4), indexing="ij")
    f = np.stack([v1.ravel(), v2.ravel()], axis=1).repeat(25, axis=0)
    z = np.stack([f[:, 0], f[:, 1] // 2, f[:, 1]], axis=1).astype(float)
    res = mig(z, f)
    np.testing.assert_allclose(res.per_factor, [1.0, 0.5], atol=1e-12)
    assert res.mig == pytest.approx(0.75, abs=1e-12)
    np.testing.assert_allclose(res.factor_entropy, [math.log(2), math.log(4)])


def test_sprite_factors_and_model_are_what_the_page_says():
    from vae_core.sprites import data as sp

    assert sp.SHAPES == ("square", "ellipse", "heart")
    assert sp.FACTOR_SIZES == (3, 6, 6, 16, 16) and 3 * 6 * 6 * 16 * 16 == sp.N_COMBINATIONS == 27_648
    np.testing.assert_allclose(sp.FACTOR_VALUES["rotation"], [0, 15, 30, 45, 60, 75])  # 0–75°, 6 values
    for p in sorted(CKPT.glob("sprites-beta*.json")):
        m = json.loads(p.read_text())["model"]
        assert m["input_dim"] == 64 * 64 and m["latent_dim"] == 10 and m["kind"] == "vae"


def test_sprite_sweep_one_recipe_and_recon_rises_with_beta():
    """'One training run per β, all with the same recipe and seed' and 'the recon term rises with β'."""
    metas = sorted((json.loads(p.read_text()) for p in CKPT.glob("sprites-beta*.json")), key=lambda m: m["beta"])
    assert len(metas) >= 2
    recipes = {m["command"].replace(f"--beta {m['beta']:g}", "").replace(m["name"], "NAME") for m in metas}
    assert len(recipes) == 1, recipes  # the commands differ in β and name only
    recon = [m["test_metrics"]["recon"] for m in metas]
    assert all(a < b for a, b in zip(recon, recon[1:], strict=False)), recon


# ================================================================== Word Map
def test_homotopy_paths_are_the_written_formulas():
    from vae_core.sequence.explore import homotopy

    rng = np.random.default_rng(3)
    a, b = rng.normal(size=5), rng.normal(size=5)
    t = np.linspace(0, 1, 7)[:, None]
    np.testing.assert_allclose(homotopy(a, b, 7, "linear"), (1 - t) * a + t * b)
    om = math.acos(a @ b / np.linalg.norm(a) / np.linalg.norm(b))
    np.testing.assert_allclose(homotopy(a, b, 7, "spherical"),
                               (np.sin((1 - t) * om) * a + np.sin(t * om) * b) / math.sin(om))


def test_great_circle_norm_stays_between_only_within_90_degrees():
    """Corrected help text: |z_t| on the great circle is constant for equal lengths and between the two lengths
    when the codes are at most 90° apart; further apart and unequal, it can leave that range both ways."""
    from vae_core.sequence.explore import homotopy

    rng = np.random.default_rng(4)
    for _ in range(300):
        a, b = rng.normal(size=4), rng.normal(size=4)
        if a @ b < 0:
            b = b - 2 * (a @ b) / (a @ a) * a  # reflect: angle ≤ 90°
        n = np.linalg.norm(homotopy(a, b, 11, "spherical"), axis=1)
        lo, hi = sorted((np.linalg.norm(a), np.linalg.norm(b)))
        assert lo - 1e-9 <= n.min() and n.max() <= hi + 1e-9
        r = np.linalg.norm(a)
        np.testing.assert_allclose(np.linalg.norm(homotopy(a, r * b / np.linalg.norm(b), 11, "spherical"), axis=1), r)
    om = math.radians(170)
    a, b = np.array([1.0, 0.0]), 2 * np.array([math.cos(om), math.sin(om)])
    n = np.linalg.norm(homotopy(a, b, 101, "spherical"), axis=1)
    assert n.max() > 5.0 and n.min() < 0.5  # far outside [1, 2], above and below


def test_straight_line_dips_where_16d_posteriors_rarely_are(words):
    """'The straight line dips towards z = 0, a region the 16-D posteriors rarely visit (prior draws have
    |z| ≈ √d)', measured on words-z16's test posteriors."""
    from vae_core.sequence.explore import posterior

    model, _ = _seq("words-z16")
    mu, _ = posterior(model, words.test)
    norms = np.linalg.norm(mu, axis=1)
    rng = np.random.default_rng(0)
    i, j = rng.integers(0, len(mu), 1000), rng.integers(0, len(mu), 1000)
    keep = i != j
    mid = np.linalg.norm((mu[i] + mu[j])[keep] / 2, axis=1)
    assert np.median(mid) < np.median(np.minimum(norms[i], norms[j])[keep])  # the midpoint is shorter than both
    assert (norms < np.median(mid)).mean() < 0.05  # few test codes lie that close to 0
    d = model.latent_dim
    # |z| for z ~ N(0, I_d): chi distribution, mean √2 Γ((d+1)/2) / Γ(d/2)
    chi_mean = math.sqrt(2) * math.exp(math.lgamma((d + 1) / 2) - math.lgamma(d / 2))
    assert abs(chi_mean - math.sqrt(d)) < 0.05 * math.sqrt(d)
    assert abs(np.median(norms) - math.sqrt(d)) < 0.15 * math.sqrt(d)


def test_word_corpus_sizes(words):
    """'the 30,000 most frequent … words'; 'the 3,115 held-out test words'; '26,885 training words'."""
    assert len(words.train) + len(words.test) == 30_000 == len(set(words.train) | set(words.test))
    assert len(words.test) == 3_115 and len(words.train) == 26_885


def test_letter_softmax_puts_almost_no_mass_on_special_tokens(words):
    """'each letter a softmax over a–z and the end mark': the softmax also has slots for <pad>, <bos>, <unk>;
    teacher-forced on the test words, the trained decoders give them < 1 % at every step."""
    from vae_core.sequence.train import encode_all, trim
    from vae_core.sequence.vocab import BOS, PAD, UNK

    for name in ("words-z2", "words-z16"):
        model, _ = _seq(name)
        assert len(model.vocab) == 26 + 4
        ids = trim(model.vocab.batch(words.test))
        mu, _ = encode_all(model, ids)
        with torch.no_grad():
            p = F.softmax(model.decode_logits(mu, ids), dim=2)[..., [PAD, BOS, UNK]].sum(2)
        assert float(p[ids != PAD].max()) < 0.01, name


def test_sampling_temperature_draws_from_softmax_of_logits_over_t():
    """'each letter drawn from softmax(logits / T): low T ≈ greedy': the first letter's frequencies against
    the softmax computed from the teacher-forced logits (chi-square), and T = 0.01 gives the greedy word."""
    from vae_core.sequence.vocab import BOS, PAD, UNK

    m = _tiny_seq(seed=1)
    z = torch.randn(1, 3, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        logits = m.decode_logits(z, torch.zeros(1, 1, dtype=torch.long))[0, 0]
    logits[[PAD, BOS, UNK]] = float("-inf")
    for temp in (0.7, 1.5):
        n = 4000
        ids = m.decode_ids(z.expand(n, -1).contiguous(), "sample", temp, torch.Generator().manual_seed(5), max_len=1)
        counts = np.bincount(ids[:, 0].numpy(), minlength=len(m.vocab)).astype(float)
        p = F.softmax(logits / temp, dim=0).double().numpy()
        k = p > 0
        chi2 = float((((counts - n * p) ** 2)[k] / (n * p[k])).sum())
        assert chi2 < scipy.stats.chi2.ppf(0.999, int(k.sum()) - 1), (temp, chi2)
    greedy = m.decode(z)[0]
    assert m.decode(z.expand(20, -1).contiguous(), "sample", 0.01, torch.Generator().manual_seed(0)) == [greedy] * 20


def test_kl_bounds_the_information_and_words_z2_pays_less_than_naming_a_word(words):
    """Corrected caption: the code carries at most its rate KL (Alemi et al. 2018: I(x; z) ≤ E_x KL(q(z|x) ‖ p(z)));
    words-z2's rate is below ln 30,000, the information needed to single out one word. The bound itself by
    quadrature on a 1-D example: x uniform on 4 points, q(z|x) = N(m_x, s²)."""
    m, s = np.array([-2.0, -0.5, 0.7, 2.5]), 0.6
    zz = np.linspace(-10, 10, 40_001)
    q = scipy.stats.norm.pdf(zz[None], m[:, None], s)
    agg = q.mean(0)
    info = np.mean([np.trapezoid(qi * np.log(qi / agg + 1e-300), zz) for qi in q])
    kl = np.mean(0.5 * (m ** 2 + s ** 2 - 1 - np.log(s ** 2)))
    assert 0 < info < kl and info <= math.log(4)
    _, meta = _seq("words-z2")
    assert meta["test_metrics"]["kl"] < math.log(len(words.train) + len(words.test))


# ================================================================== Posterior Collapse (Text)
def test_closed_form_kl_against_monte_carlo():
    from vae_core.objectives import gaussian_kl_per_dim

    g = torch.Generator().manual_seed(0)
    mu, logvar = torch.randn(3, generator=g, dtype=torch.float64), torch.randn(3, generator=g, dtype=torch.float64)
    sd = (0.5 * logvar).exp()
    z = mu + sd * torch.randn(400_000, 3, generator=g, dtype=torch.float64)
    logq = torch.distributions.Normal(mu, sd).log_prob(z).sum(1)
    logp = torch.distributions.Normal(0.0, 1.0).log_prob(z).sum(1)
    w = (logq - logp).numpy()
    se = w.std() / math.sqrt(len(w))
    assert abs(float(gaussian_kl_per_dim(mu, logvar).sum()) - w.mean()) < 4 * se


def test_free_bits_gradient_is_zero_below_lambda_and_the_shipped_kl_is_not_floored(words):
    """Corrected: free bits Σ_j max(λ, KL_j) (KL_j the batch mean) stop pushing a dimension's KL down below λ,
    but they are no floor: words-z16 (λ = 3) sits below λ per dimension on the test words."""
    m = _tiny_seq()
    ids = m.vocab.batch(["cat", "house", "tree"])
    big = m.loss(ids, generator=torch.Generator().manual_seed(0), free_bits=1e3, sample_z=False)
    plain = m.loss(ids, generator=torch.Generator().manual_seed(0), sample_z=False)
    params = list(m.enc_out.parameters())
    g_big = torch.autograd.grad(big.loss, params, retain_graph=True)
    g_rec = torch.autograd.grad(plain.recon.mean(), params)
    for a, b in zip(g_big, g_rec, strict=True):  # with every KL_j below λ, the KL term adds no gradient
        torch.testing.assert_close(a, b)
    from vae_core.sequence.train import kl_per_dim

    model, meta = _seq("words-z16")
    lam = float(meta["free_bits"])
    per_dim = kl_per_dim(model, words.test).numpy()
    assert lam > 0 and (per_dim < lam).any(), (lam, per_dim)


def test_annealed_rate_peaks_while_the_weight_is_small_then_falls():
    """'KL annealing + word dropout held {peak} nats while the KL weight was small, but once it reached 1 the
    rate drifted down', from the training history the page plots."""
    _, meta = _seq("words-z16-fix")
    hist = meta["history"]
    if meta.get("init"):
        hist = meta["init"]["history"] + hist
    peak = max(hist, key=lambda r: r["kl"])
    assert peak["kl_weight"] < 0.5
    assert hist[-1]["kl_weight"] == 1.0 and hist[-1]["kl"] < 0.5 * peak["kl"]


def test_collapse_models_architecture_as_stated():
    """'one architecture (16-D z, GRU decoder with 256 units)'."""
    for name in ("words-z16-nofix", "words-z16-fix", "words-z16"):
        model, _ = _seq(name)
        assert model.latent_dim == 16 and model.dec_hidden == 256 and model.enc_rnn.bidirectional


def test_gumbel_max_samples_the_categorical_and_is_a_step_function():
    """x = argmax_k(log π_k + g_k), g_k = −log(−log u_k), is distributed as π; nudging the logits leaves x
    unchanged, so its derivative is 0 almost everywhere."""
    rng = np.random.default_rng(5)
    pi = np.array([0.5, 0.3, 0.15, 0.05])
    g = -np.log(-np.log(rng.uniform(size=(200_000, 4))))
    x = np.argmax(np.log(pi) + g, axis=1)
    counts = np.bincount(x, minlength=4)
    assert scipy.stats.chisquare(counts, 200_000 * pi).pvalue > 1e-3
    x2 = np.argmax(np.log(pi) + 1e-6 * rng.normal(size=4) + g, axis=1)
    assert (x2 != x).mean() < 1e-3  # a tiny change of the logits changes (almost) no sample


def test_gumbel_softmax_is_biased_for_positive_tau_and_one_hot_as_tau_goes_to_0():
    rng = np.random.default_rng(6)
    pi = np.array([0.6, 0.3, 0.1])
    g = -np.log(-np.log(rng.uniform(size=(200_000, 3))))

    def relaxed(tau):
        a = (np.log(pi) + g) / tau
        a -= a.max(1, keepdims=True)
        e = np.exp(a)
        return e / e.sum(1, keepdims=True)

    y1 = relaxed(1.0)
    se = y1.std(0) / math.sqrt(len(y1))
    assert np.abs(y1.mean(0) - pi).max() > 10 * se.max()  # E[y] ≠ π: E f(y) ≠ E f(x) for a linear f
    y0 = relaxed(0.01)
    hard = np.eye(3)[np.argmax(np.log(pi) + g, axis=1)]
    assert np.abs(y0 - hard).max(1).mean() < 0.01


def test_reinforce_identity_by_enumeration_and_unbiased_by_monte_carlo():
    """∇_φ E_q[f(x)] = E_q[f(x) ∇_φ log q(x)] for a categorical q = softmax(φ)."""
    phi = torch.tensor([0.3, -1.0, 0.8, 0.1], dtype=torch.float64, requires_grad=True)
    f = torch.tensor([1.0, 4.0, -2.0, 0.5], dtype=torch.float64)
    exact = torch.autograd.grad((F.softmax(phi, 0) * f).sum(), phi)[0]
    logq = F.log_softmax(phi, 0)
    q = logq.exp().detach()
    score = torch.stack([torch.autograd.grad(logq[k], phi, retain_graph=True)[0] for k in range(4)])
    torch.testing.assert_close((q[:, None] * f[:, None] * score).sum(0), exact)
    g = torch.Generator().manual_seed(0)
    x = torch.multinomial(q, 100_000, replacement=True, generator=g)
    est = f[x, None] * score[x]
    se = est.std(0) / math.sqrt(len(x))
    assert ((est.mean(0) - exact).abs() < 4 * se).all()


# ================================================================== Molecule VAE
def test_smiles_examples_are_ethanol_and_benzene():
    from rdkit import Chem
    from rdkit.Chem.rdMolDescriptors import CalcMolFormula

    assert CalcMolFormula(Chem.MolFromSmiles("CCO")) == "C2H6O"
    benzene = Chem.MolFromSmiles("c1ccccc1")
    assert CalcMolFormula(benzene) == "C6H6" and all(a.GetIsAromatic() for a in benzene.GetAtoms())


def test_smiles_model_and_unfinished_strings_as_stated():
    """'a bidirectional GRU …, 32-D Gaussian z, a two-layer GRU decoder'; 'a string without an end mark within
    80 tokens counts as invalid' (max_len counts the end mark)."""
    model, _ = _seq("smiles-z32")
    assert model.latent_dim == 32 and model.dec_layers == 2 and model.enc_rnn.bidirectional
    assert model.max_len == 81
    m = _tiny_seq(max_len=6)
    from vae_core.sequence.vocab import EOS

    with torch.no_grad():
        m.dec_out.bias[EOS] = -1e4  # never ends
    z = torch.randn(4, 3, generator=torch.Generator().manual_seed(0))
    assert all(len(s) == 6 for s in m.decode(z)) and m.decode(z, require_end=True) == [""] * 4
    from vae_core.sequence.smiles import generation_metrics

    assert generation_metrics(["", "CCO"], set())["validity"] == 0.5


def test_pca_fraction_is_the_covariance_eigenvalue_share():
    from vae_core.sequence.explore import pca_2d

    rng = np.random.default_rng(7)
    x = rng.normal(size=(400, 6)) @ rng.normal(size=(6, 6))
    xy, _, axes, frac = pca_2d(x)
    ev = np.sort(np.linalg.eigvalsh(np.cov(x, rowvar=False)))[::-1]
    np.testing.assert_allclose(frac, ev[:2] / ev.sum(), rtol=1e-8)
    np.testing.assert_allclose(xy.var(0, ddof=1), ev[:2], rtol=1e-8)
