"""ELBO & Bounds: Thm 1.1 / 1.3 and the IWAE bounds (Burda et al. 2016) on one test digit of the active model.

The ELBO's two terms (Monte-Carlo reconstruction term with S samples, closed-form KL), the importance-weighted
bounds L_k rising with k towards log p(x), the part L_K - ELBO of the Jensen gap that
importance weighting recovers (in expectation a lower bound on KL(q || p(z|x))), and the
closed-form KL next to its Monte-Carlo estimate.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from ui.compute.theory_pages import ElboNumbers, IwaeNumbers, KLCheck, elbo_numbers, iwae_numbers, mc_kl_numbers
from ui.fmt import fmt_minus
from ui.formula import formula_row
from ui.images import strip, to_image, to_image_cell
from ui.pickers import digit_picker
from ui.state import BY_MODEL_KEY, ActiveModel, require_data, require_model
from ui.truth_views import exact_section, notes_section
from ui.views.elbo_bounds import likelihood_section
from vae_core import theory

K_OPTIONS = (10, 20, 50, 100, 200, 500, 1000)  # each is a multiple of every k in KS below it that divides it
N_KL_OPTIONS = (10, 30, 100, 300, 1000, 3000, 10000)


@st.cache_data(show_spinner="Estimating the ELBO…", max_entries=64, hash_funcs=BY_MODEL_KEY)
def _elbo(am: ActiveModel, idx: int, S: int, seed: int, _x, _y) -> ElboNumbers:  # noqa: ARG001 - idx: cache key of _x, _y
    return elbo_numbers(am.model, _x, _y, S, seed)


@st.cache_data(show_spinner="Computing importance-weighted bounds…", max_entries=64, hash_funcs=BY_MODEL_KEY)
def _iwae(am: ActiveModel, idx: int, K: int, seed: int, _x, _y) -> IwaeNumbers:  # noqa: ARG001 - idx: cache key of _x, _y
    return iwae_numbers(am.model, _x, _y, K, seed)


@st.cache_data(show_spinner=False, max_entries=64)
def _mc_kl(idx: int, n: int, seed: int, mu: tuple, logvar: tuple) -> KLCheck:  # noqa: ARG001 - idx: part of the cache key
    return mc_kl_numbers(mu, logvar, n, seed)


def _row(formula: str, value: str, note: str = "") -> None:
    formula_row(formula, value, note, widths=(3.0, 1.1))


def _bump_seed() -> None:
    st.session_state["eb_seed"] = st.session_state.get("eb_seed", 0) + 1


def main() -> None:
    am = require_model()
    data = require_data(am)
    st.title("ELBO & importance-weighted bounds")
    st.markdown(
        "Training a VAE maximises the **evidence lower bound** (ELBO) instead of the intractable $\\log p_\\theta(x)$. "
        "Here you see, for one test digit and the active model, how big each piece is, how far below $\\log "
        "p_\\theta(x)$ "
        "the ELBO sits, and how importance weighting closes part of that gap. All numbers are **nats for this one "
        "image** (natural-log units, summed over 784 pixels). For a model trained with the Bernoulli cross-entropy on "
        "grey pixels, \"log p(x|z)\" below is minus a cross-entropy, not a log-probability: see *Which likelihood?* "
        "at the bottom.")
    st.latex(r"\log p_\theta(x) \;\ge\; \mathcal{L}(q_\phi,\theta;x) = \mathbb{E}_{q_\phi(z|x)}[\log p_\theta(x|z)]"
             r" - D_{KL}(q_\phi(z|x) \,\|\, p(z)) \qquad \text{(Thm 1.1)}")

    if am.conditional:
        st.info("This model is a **conditional VAE**: everything below is conditioned on the digit's label y, i.e. the "
                "encoder is $q_\\phi(z|x,y)$ and the decoder $p_\\theta(x|z,y)$; the bounds are on $\\log "
                "p_\\theta(x|y)$.")
    st.session_state.setdefault("eb_seed", 0)
    c1, c2, c3 = st.columns([1.25, 1, 1], gap="medium")
    with c1:
        idx = digit_picker(data, "eb_digit")
    with c2:
        S = st.slider("S: samples for 𝔼_q[log p(x|z)]", 1, 200, 16, key="eb_S",
                      help="z_s = μ + σ ⊙ ε_s; the reconstruction term is the average of log p(x|z_s)")
        K = st.select_slider("K: largest number of importance samples", K_OPTIONS, value=1000, key="eb_K")
    with c3:
        n_kl = st.select_slider("samples for the Monte-Carlo KL", N_KL_OPTIONS, value=1000, key="eb_nkl")
        st.button("Resample", icon=":material/casino:", on_click=_bump_seed, key="eb_resample",
                  help="draw fresh random ε for every estimate on this page")
        st.caption(f"random seed {st.session_state['eb_seed']}")
    seed = int(st.session_state["eb_seed"])

    x = data.images[idx:idx + 1]
    label = int(data.labels[idx])
    y = am.model.condition(data.labels[idx:idx + 1])
    model = am.model
    model.eval()

    e = _elbo(am, idx, S, seed, x, y)
    iw = _iwae(am, idx, K, seed, x, y)
    kl = _mc_kl(idx, n_kl, seed, e.mu, e.logvar)

    # ---------------------------------------------------------------- the ELBO and its two terms
    st.subheader("The ELBO's two terms")
    mu = np.array(e.mu)
    sigma = np.exp(0.5 * np.array(e.logvar))
    draws = theory.reparam_draws(mu, sigma, 4, seed=seed + 3)["z"].numpy()
    recon = am.decode(np.vstack([mu, draws]), am.model.condition(label))
    i1, i2, i3 = st.columns([1, 1, 2.3], gap="medium")
    i1.image(to_image(x[0].numpy(), 112), caption=f"test #{idx} (digit {label})")
    i2.image(to_image(recon[0], 112), caption="decoder at the mean μ")
    i3.image(to_image_cell(strip(recon[1:]), 84), caption="decoder at 4 draws z ~ q(z|x): what 𝔼_q averages over")
    _row(r"\mathbb{E}_{q_\phi(z|x)}[\log p_\theta(x|z)] \approx \frac{1}{S}\sum_{s=1}^{S} \log p_\theta(x|z_s)",
         f"{fmt_minus(e.recon_ll)} ± {e.recon_se:.2f} nats", f"reconstruction term, S = {S} (± 1 standard error)")
    _row(r"D_{KL}(q_\phi(z|x) \,\|\, p(z)) = \frac{1}{2} \sum_{j=1}^{d_z} (\mu_j^2 + \sigma_j^2 - \log \sigma_j^2 - 1)",
         f"{fmt_minus(e.kl)} nats", "regulariser, closed form (exact)")
    _row(r"\mathcal{L} = \mathbb{E}_{q_\phi(z|x)}[\log p_\theta(x|z)] - D_{KL}(q_\phi(z|x) \,\|\, p(z))",
         f"{fmt_minus(e.elbo)} nats", f"ELBO estimate from S = {S} draws: −ELBO ≈ {fmt_minus(-e.elbo, 1)} nats")
    st.caption("Almost all of the ELBO is the reconstruction term: each of the 784 pixels adds a little to it. "
               "The KL term is the price, in nats, of describing this digit by q(z|x) instead of the prior. Move S: "
               "the estimate of the first term wobbles less and its ± shrinks like 1/√S, while the KL does not move "
               "at all because it is computed exactly.")

    # ---------------------------------------------------------------- IWAE curve
    st.subheader("Tighter bounds: importance weighting (Burda et al. 2016)")
    st.markdown("The seed derives the ELBO from Jensen's inequality (log is concave):")
    st.latex(r"\log p_\theta(x) = \log \mathbb{E}_{q_\phi(z|x)}\!\left[\frac{p_\theta(x,z)}{q_\phi(z|x)}\right]"
             r" \;\ge\; \mathbb{E}_{q_\phi(z|x)}\!\left[\log \frac{p_\theta(x,z)}{q_\phi(z|x)}\right] = \mathcal{L}")
    st.markdown("Applying the same step to the *average of k ratios* loses less, and gives a family of bounds with "
                "$\\mathcal{L}_1 = \\mathcal{L}$ (Burda, Grosse & Salakhutdinov 2016; not a theorem of the notes):")
    st.latex(r"\log p_\theta(x) \;\ge\; \mathcal{L}_k = \mathbb{E}\!\left[\log \frac{1}{k}\sum_{i=1}^{k} "
             r"\frac{p_\theta(x,z_i)}{q_\phi(z_i|x)}\right], \qquad z_i \sim q_\phi(z|x)")
    left, right = st.columns([1.7, 1], gap="large")
    with left:
        fig = go.Figure()
        fig.add_trace(go.Scatter(x=iw.k, y=iw.bound, mode="lines+markers", name="𝓛_k (importance-weighted)",
                                 line=dict(color="#1f77b4", width=3), marker=dict(size=8),
                                 hovertemplate="k = %{x}<br>𝓛_k = %{y:.2f} nats<extra></extra>"))
        fig.add_trace(go.Scatter(x=[iw.k[0], iw.k[-1]], y=[e.elbo, e.elbo], mode="lines",
                                 name=f"ELBO 𝓛 (S = {S}, exact KL)", line=dict(color="#d62728", dash="dash", width=2),
                                 hovertemplate="ELBO = %{y:.2f} nats<extra></extra>"))
        lo, hi = min(min(iw.bound), e.elbo), max(iw.bound)
        pad = max(0.6, 0.15 * (hi - lo))
        fig.update_layout(
            height=360, margin=dict(l=10, r=10, t=40, b=10), legend=dict(orientation="h", y=-0.28),
            title=dict(text=f"Bounds on log p(x) for test #{idx}, rising with k", font_size=15),
            xaxis=dict(type="log", title="k: importance samples per estimate (log scale)", tickvals=iw.k),
            yaxis=dict(title="bound on log p(x) (nats/image)", range=[lo - pad, hi + pad]))
        st.plotly_chart(fig, key="eb_iwae")
    with right:
        gap = iw.gap[-1]
        st.metric(f"𝓛_{iw.k[-1]} (largest k)", f"{iw.bound[-1]:.2f} nats",
                  help="importance-weighted bound with the largest k (nats for this image)")
        st.metric(f"recovered by weighting: 𝓛_{iw.k[-1]} − 𝓛_1", f"{gap:.2f} nats",
                  help="the part of the Jensen gap log p(x) − 𝓛_1 that importance weighting recovers; 𝓛_1 is the "
                       "ELBO estimated from the same draws (with a Monte-Carlo KL)")
        st.caption(f"Each point is one Monte-Carlo estimate of 𝓛_k. 𝓛_k, its expected value, is a lower bound on "
                   f"log p(x); a single estimate can land above it (the exact check below shows how often). With "
                   f"k = 1 it is just the ELBO; averaging k ratios before the log lets the bound climb. All k reuse "
                   f"the same {K:,} draws.")
    st.caption(f"𝓛₁ = {iw.bound[0]:.2f} and the red line ({e.elbo:.2f}) are two Monte-Carlo estimates of the "
               f"same "
               f"ELBO ({K:,} draws with a sampled KL, against S = {S} draws with the exact KL); they differ by "
               f"{abs(iw.bound[0] - e.elbo):.2f} nats, which is sampling noise (the S-sample estimate has a "
               f"standard error of {e.recon_se:.2f} nats).")
    st.markdown("By Thm 1.2, the whole distance from the ELBO up to $\\log p_\\theta(x)$ is the KL divergence from "
                "the encoder's $q$ to the true posterior. The climb $\\mathcal{L}_K - \\mathcal{L}_1$ is the part "
                "of that distance that importance weighting recovers, so (in expectation) it is a **lower bound on "
                "how far q is from the posterior** for this digit:")
    st.latex(r"D_{KL}(q_\phi(z|x) \,\|\, p_\theta(z|x)) = \log p_\theta(x) - \mathcal{L} \;\ge\; \mathcal{L}_K - "
             r"\mathcal{L} \approx " + f"{gap:.2f}" + r"\ \text{nats}")
    st.caption("A large climb proves that the encoder's Gaussian is a poor fit for this digit. A climb near 0 does "
               "not prove that q is close to the posterior: the rest of the gap, log p(x) − 𝓛_K, is invisible "
               "without the exact log p(x).")
    exact_section(am, idx, x, label if am.conditional else None)

    # ---------------------------------------------------------------- KL: closed form vs Monte Carlo
    st.subheader("The KL term: closed form against Monte Carlo")
    left, right = st.columns([1, 1.3], gap="large")
    with left:
        st.latex(r"D_{KL}(q \,\|\, p) = \mathbb{E}_{q}[\log q(z) - \log p(z)]")
        cc1, cc2 = st.columns(2)
        cc1.metric("closed form", f"{kl.closed_form:.3f} nats")
        cc2.metric(f"Monte Carlo, n = {n_kl:,}", f"{kl.mc_estimate:.3f} nats",
                   delta=f"{kl.mc_estimate - kl.closed_form:+.3f} nats", delta_color="off",
                   help="average of log q(z) − log p(z) over n draws z ~ q")
        st.markdown(f"standard error of the Monte-Carlo estimate: **{kl.stderr:.3f} nats**; the difference is "
                    f"**{abs(kl.z_score):.1f} standard errors**.")
        st.caption("The Monte-Carlo average agrees with the closed form within its error bar; with more samples the "
                   "error bar shrinks like 1/√n. The closed form is exact and free, which is why the VAE loss uses it.")
    with right:
        per = np.array(e.kl_per_dim)
        dims = [f"z{j + 1}" for j in range(len(per))]
        fig = go.Figure(go.Bar(x=dims, y=per, marker_color="#9467bd",
                               text=[f"{v:.2f}" for v in per] if len(per) <= 10 else None, textposition="outside",
                               hovertemplate="%{x}: %{y:.3f} nats<extra></extra>"))
        fig.update_layout(height=300, margin=dict(l=10, r=10, t=40, b=10),
                          title=dict(text="KL per latent dimension (closed form)", font_size=15),
                          xaxis_title="latent dimension", yaxis_title="KL (nats)",
                          yaxis_range=[0, max(per.max() * 1.25, 0.1)])
        st.plotly_chart(fig, key="eb_kl_dims")
        st.caption("The KL is a sum over dimensions, ½(μⱼ² + σⱼ² − log σⱼ² − 1) each. Dimensions near 0 nats carry "
                   "no information about this digit: q equals the prior there (unused or collapsed dimensions).")

    likelihood_section(am, data, idx, seed, y)
    notes_section(am, idx, x, label if am.conditional else None, seed, recon[0])


main()
