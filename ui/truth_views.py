"""Sections that say what the numbers are and where the notes are wrong (issue #11), shared by the pages.

Every number comes from vae_core.theory (tested in tests/truth/, page by page); this module only lays them out.
Static text only goes through st.markdown / st.latex; nothing here shows text from users or files.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import streamlit as st
import torch

from ui.state import BY_MODEL_KEY, ActiveModel
from vae_core.theory import LinearGaussianModel
from vae_core.theory.bounds import iwae_vs_exact
from vae_core.theory.collapse import beta_vs_collapsed, collapsed_optimum
from vae_core.theory.elbo import elbo_two_forms, em_trace, gaussian_decoder_nll, theta_counterexample
from vae_core.theory.quadrature import beta_bound_check, log_marginal_quadrature

KIND_WORDS = {
    "log-probability": "log P(x), a log-probability (binary pixels)",
    "log-density": "log p(x), a log-density on [0, 1]^784",
    "log-integral of exp(-cross-entropy)": "log ∫ exp(−BCE(x, λ(z))) p(z) dz — the quantity this model's ELBO "
                                           "bounds; on grey pixels it is not the log-likelihood of any "
                                           "distribution over images",
}


def likelihood_of(am: ActiveModel) -> str:
    return str(am.meta.get("likelihood") or "bernoulli")


def _n(v: float, nd: int = 2) -> str:
    return f"{v:.{nd}f}".replace("-", "−")


# ------------------------------------------------------------------ cached computations
@st.cache_data(show_spinner="Integrating over z on a grid…", max_entries=32, hash_funcs=BY_MODEL_KEY)
def exact_check(am: ActiveModel, idx: int, _x, label: int | None) -> dict:  # noqa: ARG001 - idx: cache key of _x
    """Quadrature log p(x), the β-objective check and single IWAE estimates for one test image."""
    lik = likelihood_of(am)
    q = log_marginal_quadrature(am.model, _x, label, lik)
    b = beta_bound_check(am.model, _x, float(am.meta.get("beta", 1.0)), label, lik, n_samples=500, exact=q)
    iw = iwae_vs_exact(am.model, _x, ks=(1, 100), n_rep=40, y=label, likelihood=lik, exact=q[0])
    return {"log_px": q[0].log_px, "error": q[0].error, "kind": q[0].kind, "n_evals": q[0].n_evals,
            **{k: float(v[0]) for k, v in b.items() if k != "beta"}, "iw": iw}


@st.cache_data(show_spinner=False, max_entries=64, hash_funcs=BY_MODEL_KEY)
def two_forms(am: ActiveModel, idx: int, _x, label: int | None, seed: int) -> dict:  # noqa: ARG001 - idx: cache key of _x
    return elbo_two_forms(am.model, _x, label, likelihood_of(am), n_samples=256, seed=seed)


@st.cache_data(show_spinner=False)
def em_demo() -> dict:
    src = LinearGaussianModel.random(d=1, D=3, noise_std=0.5, seed=3)
    _, xs = src.sample(40, torch.Generator().manual_seed(1))
    return em_trace(xs, steps=4)


@st.cache_data(show_spinner="Comparing with the best collapsed code…", max_entries=16, hash_funcs=BY_MODEL_KEY)
def collapse_check(am: ActiveModel, n: int, _images, _labels) -> dict:  # noqa: ARG001 - n: cache key of _images
    return beta_vs_collapsed(am.model, _images, float(am.meta.get("beta", 1.0)),
                             _labels if am.conditional else None)


def collapsed_distortion(images) -> float:
    return collapsed_optimum(images)["distortion"]


# ------------------------------------------------------------------ ELBO & Bounds
def exact_section(am: ActiveModel, idx: int, x, label: int | None) -> None:
    """For a 2-D model: log p(x) computed exactly (a grid over z), against the ELBO, the β-objective and the
    single IWAE estimates."""
    st.subheader("The exact value, for a 2-D model")
    if am.latent_dim > 2:
        st.caption(f"This model has {am.latent_dim} latent dimensions: a grid over z would need far too many "
                   "decoder calls, so nothing on this page is compared with an exact value. Pick a 2-D model "
                   "(e.g. mnist-z2 or mnist-z2-beta0.5) to see it.")
        return
    st.markdown("With two latent dimensions the integral $\\log \\int p_\\theta(x|z)\\,p(z)\\,dz$ can be computed on "
                "a grid over $z$ (log-sum-exp over cells; no encoder, no sampling) and every bound on this page "
                "checked against it.")
    if not st.toggle("Compute it for this digit (a few seconds)", key="eb_exact"):
        return
    r = exact_check(am, idx, x, label)
    beta = float(am.meta.get("beta", 1.0))
    st.markdown(f"**{_n(r['log_px'])} nats** (grid error ≈ {r['error']:.0e} nats, {r['n_evals']:,} decoder calls). "
                f"What it is: {KIND_WORDS[r['kind']]}.")
    rows = [("ELBO 𝓛 (β = 1, 500 draws)", r["elbo"], "≤ the exact value by KL(q‖p(z|x)) = "
             f"{_n(r['posterior_kl'])} nats (Thm 1.2)")]
    if abs(beta - 1.0) > 1e-12:
        rows.append((f"β-objective 𝔼_q[log p(x|z)] − {beta:g}·KL", r["beta_objective"],
                     ("above the exact value by " if r["excess"] > 0 else "below the exact value by ")
                     + f"{_n(abs(r['excess']))} nats"))
    iw = r["iw"]
    rows += [(f"mean of 40 estimates of 𝓛_{k}", m, f"{100 * f:.0f} % of single estimates lie above the exact "
              "value") for k, m, f in zip(iw["k"], iw["mean"], iw["frac_above"], strict=True)]
    st.dataframe(pd.DataFrame({"quantity": [a for a, _, _ in rows], "nats": [round(b, 2) for _, b, _ in rows],
                               "against the exact value": [c for _, _, c in rows]}), hide_index=True)
    st.caption("Only the *expected* value of an estimate of 𝓛_k is a lower bound (Burda et al. 2016); a single "
               "estimate can land above log p(x). 𝓛_100 − 𝓛_1 = "
               f"{_n(iw['recovered'])} nats is the part of the gap KL(q‖p(z|x)) ≈ {_n(iw['posterior_kl'])} nats "
               "that 100 importance samples recover.")


def notes_section(am: ActiveModel, idx: int, x, label: int | None, seed: int, recon_mean: np.ndarray) -> None:
    """Where the notes are wrong, and what they state that the app would otherwise skip."""
    st.subheader("Where the notes are wrong, and what they state that is worth seeing")
    st.markdown(
        "**1 · Which KL.** The notes say the ELBO uses the *forward* KL $D_{KL}(q_\\phi(z|x)\\|p(z))$ and that it "
        "makes $q$ \"mode-seeking\" by covering $p$'s high-probability region. **Correct:** with $q$ first it is "
        "the **reverse** (exclusive) KL, $\\mathbb{E}_q[\\log q - \\log p]$. It is mode-seeking because the "
        "average is taken under $q$: wherever $q$ puts mass and $p$ has little, the cost is large, so $q$ "
        "shrinks into one mode rather than covering them all. The forward (inclusive) $D_{KL}(p\\|q)$ is the "
        "mass-covering one. The KL whose direction shapes the fit is the gap $D_{KL}(q_\\phi(z|x)\\|p_\\theta(z|x))$ "
        "of Thm 1.2.")
    t = theta_counterexample()
    st.markdown(
        "**2 · Cor. 1.3 holds over $\\phi$ only.** The notes' summary reads \"maximising the ELBO ⟺ minimising the "
        "KL and maximising the likelihood\". For fixed $\\theta$, $\\log p_\\theta(x)$ does not depend on $\\phi$, "
        "so raising the ELBO over $\\phi$ can only shrink $D_{KL}(q\\|p_\\theta(z|x))$. Over $\\theta$ the ELBO "
        "can rise because the gap shrinks while $\\log p_\\theta(x)$ *falls*. Example, one observation "
        f"$x = {t['x']:g}$, $q = \\mathcal N({t['q_mean']:g}, {t['q_var']:g})$, "
        "model $x|z \\sim \\mathcal N(wz+b, s^2)$:")
    st.dataframe(pd.DataFrame({
        "θ = (w, b, s)": [str(t[k]["theta"]) for k in ("a", "b")],
        "ELBO (nats)": [round(t[k]["elbo"], 3) for k in ("a", "b")],
        "log p(x) (nats)": [round(t[k]["log_px"], 3) for k in ("a", "b")],
        "gap KL(q‖p(z|x))": [round(t[k]["gap"], 3) for k in ("a", "b")]}), hide_index=True)
    st.caption("The second decoder ignores z: its ELBO is higher and its log p(x) lower. All values in closed form "
               "(tests/truth/test_truth_exact_identity.py recomputes them by numerical integration).")

    xa = x.reshape(-1).numpy().astype(np.float64)
    xh = np.asarray(recon_mean, dtype=np.float64).reshape(-1)
    sq = float(np.sum((xa - xh) ** 2))
    g = float(gaussian_decoder_nll(xa[None], xh[None], 0.5)[0])
    st.markdown("**3 · The Gaussian loss.** The notes write the loss with a Gaussian likelihood as "
                "$\\|x-\\hat x\\|^2 + D_{KL}$. **Correct:** with $p_\\theta(x|z) = \\mathcal N(\\hat x, \\sigma^2 I)$,")
    st.latex(r"-\log p_\theta(x|z) = \frac{\|x-\hat x\|^2}{2\sigma^2} + \frac{D}{2}\log(2\pi\sigma^2),")
    st.markdown(f"so their loss is the case $\\sigma^2 = \\tfrac12$ with the constant $\\tfrac{{784}}{{2}}\\log\\pi "
                f"= {392 * math.log(math.pi):.1f}$ nats dropped, and $\\sigma$ sets how much reconstruction weighs "
                "against the KL (it acts like 1/β). On this digit with $\\hat x$ = decode(μ): "
                f"$\\|x-\\hat x\\|^2$ = {sq:.2f}, $-\\log\\mathcal N(x;\\hat x, \\tfrac12 I)$ = {g:.2f} nats. "
                "The notes' own code trains with the Bernoulli cross-entropy (`F.binary_cross_entropy`), not this "
                "loss.")

    f = two_forms(am, idx, x, label, seed)
    st.markdown("**4 · The two forms of the ELBO** (stated in the notes, computed here from independent draws):")
    st.latex(r"\mathcal L = \underbrace{\mathbb{E}_q[\log p_\theta(x|z)] - D_{KL}(q\|p(z))}_{\text{form 1: "
             r"reconstruction} - \text{KL}} = \underbrace{\mathbb{E}_q[\log p_\theta(x,z)] + \mathcal H(q)}_{"
             r"\text{form 2: negative free energy}}")
    st.dataframe(pd.DataFrame({
        "form": ["1: reconstruction − KL", "2: 𝔼_q[log p(x,z)] + H(q)"],
        "terms (nats)": [f"{_n(f['recon'])} − {_n(f['kl'])}", f"{_n(f['log_joint'])} + {_n(f['entropy'])}"],
        "ELBO (nats)": [f"{_n(f['form1'])} ± {f['form1_se']:.2f}", f"{_n(f['form2'])} ± {f['form2_se']:.2f}"]}),
        hide_index=True)
    st.caption(f"{f['n_samples']} draws each; H(q) = Σⱼ ½(1 + log 2π + log σⱼ²) in closed form. The two agree within "
               "their standard errors.")

    em = em_demo()
    st.markdown("**5 · The EM reading** (the notes' last remark). On a linear-Gaussian model where everything is "
                "exact, alternate the two steps over 40 observations: the **E-step** sets q to the posterior "
                "(the gap closes, the ELBO rises to log p(x)); the **M-step** maximises the ELBO over θ with q "
                "fixed (log p(x) rises, the gap reopens). A VAE does both at once with gradient steps, and its "
                "E-step is never exact.")
    st.dataframe(pd.DataFrame({"after": em["stage"], "ELBO (nats)": np.round(em["elbo"], 3),
                               "log p(x) (nats)": np.round(em["log_px"], 3),
                               "gap (nats, summed over the 40)": np.round(em["gap"], 3)}), hide_index=True)


# ------------------------------------------------------------------ Anomaly Detection
@st.cache_data(show_spinner="Scoring constant images…", max_entries=16, hash_funcs=BY_MODEL_KEY)
def floor_numbers(am: ActiveModel, n: int, _images) -> dict:  # noqa: ARG001 - n: cache key of _images
    from vae_core.digits.applications import anomaly_scores
    from vae_core.theory.floors import constant_image_scores, entropy_floor_report

    s = anomaly_scores(am.model, _images, generator=torch.Generator().manual_seed(0))
    normal = {k: s[k].numpy() for k in ("recon_bce", "neg_elbo")}
    const = constant_image_scores(am.model, normal, values=(0.0,))[0.0]
    rep = entropy_floor_report(am.model, _images, normal["recon_bce"])
    top = np.argsort(-normal["recon_bce"])[:20]
    return {"black": const, "rho_floor": rep["rho_floor"], "rho_grey": rep["rho_grey"],
            "floor_mean": float(rep["floor"].mean()), "score_mean": float(normal["recon_bce"].mean()),
            "excess_mean": float(rep["excess"].mean()),
            "top_floor_pct": float(100 * np.mean(rep["floor"][top][:, None] > rep["floor"][None, :])),
            "top_grey": float(100 * rep["grey"][top].mean()), "all_grey": float(100 * rep["grey"].mean())}


def anomaly_floor_section(am: ActiveModel, n: int, images) -> None:
    st.subheader("What the score cannot tell")
    r = floor_numbers(am, n, images)
    b = r["black"]
    st.markdown(
        "**An all-black image looks normal.** Its reconstruction error is "
        f"**{b['recon_bce']:.1f} nats** and its −ELBO {b['neg_elbo']:.1f} nats: lower (more normal) than "
        f"**{b['pct_recon_bce']:.1f} %** and {b['pct_neg_elbo']:.1f} % of these {n:,} real test digits. A page with "
        "no strokes is easy to encode and to redraw, so the score calls it typical. Likelihood-based detectors "
        "share this failure: simple inputs get high likelihoods (Nalisnick et al. 2019, *Do deep generative models "
        "know what they don't know?*).")
    st.markdown("**The score has a floor that depends on the image, not on the model.** For any reconstruction λ,")
    st.latex(r"-\sum_i\big[x_i\log\lambda_i + (1-x_i)\log(1-\lambda_i)\big] = \sum_i H_b(x_i) + "
             r"\sum_i D_{KL}\big(\mathrm{Bern}(x_i)\,\|\,\mathrm{Bern}(\lambda_i)\big) \;\ge\; \sum_i H_b(x_i)")
    st.markdown(
        f"so a digit with many grey (anti-aliased) pixels scores high whatever the model does. Here the floor "
        f"averages {r['floor_mean']:.1f} nats of the mean score {r['score_mean']:.1f}; the scores' rank "
        f"correlation with the floor is {r['rho_floor']:.2f} (with the share of grey pixels {r['rho_grey']:.2f}). "
        f"The 20 'strangest' real digits have {r['top_grey']:.0f} % grey pixels against {r['all_grey']:.0f} % on "
        f"average, and their floors exceed {r['top_floor_pct']:.0f} % of all floors: they are mostly thick, "
        "blurry strokes, not odd shapes.")


# ------------------------------------------------------------------ β/KL Lab: is collapse the optimum?
def collapse_optimum_section(get_model, test, n: int = 10_000) -> None:
    """The shipped β = 16 model's D + 16·R against the best collapsed code, and the notes' other cause."""
    try:
        am = get_model("shipped/mnist-z2-beta16")
    except (FileNotFoundError, KeyError, ValueError):
        return
    n = min(n, len(test))
    r = collapse_check(am, n, test.images[:n], test.labels[:n])
    with st.expander("Is the collapsed code the optimum at a large β? Not here.", expanded=False):
        st.markdown(
            "A collapsed model has R = 0 and a decoder that cannot depend on x, so its best distortion is the "
            "cross-entropy of every digit against the mean image x̄:")
        st.latex(r"D_{\text{collapsed}} = \min_\lambda \frac1N\sum_n H(x_n, \lambda) = \sum_i H_b(\bar x_i)"
                 rf" = {r['collapsed']:.1f}\ \text{{nats}}")
        st.markdown(
            f"The shipped β = 16 model (2-D, 60 epochs) reaches D + 16·R = {r['distortion']:.1f} + 16 × "
            f"{r['rate']:.2f} = **{r['objective']:.1f} nats** on the first {r['n']:,} test digits: "
            f"**{r['margin']:.1f} nats better** than any collapsed code. So when the preset's short run collapses, "
            "that is an optimisation effect (the KL term wins early, before the decoder learns to use z), not the "
            "optimum of its objective — which is why annealing and free bits help.")
        st.markdown(
            "The notes name a second cause, **a decoder that is too strong**, with the remedy **a weaker "
            "decoder**. An MLP decoder of digits cannot model pixels without z; an autoregressive one can. The "
            "*Posterior Collapse (Text)* page shows both: a GRU decoder of words ignores z, and word dropout "
            "(weakening what the decoder sees) brings z back.")
