"""Reparameterisation (Thm 2.1): z = μ + σ ⊙ ε, on a toy Gaussian and on the active model's encoder, and the
gradient problem of seed §梯度问题: reparameterised against score-function (REINFORCE) gradient estimators.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from ui.compute.theory_pages import SAMPLE_SIZES, EstimatorCurve, estimator_curve
from ui.images import to_image_cell, wrap_strip
from ui.pickers import digit_picker
from ui.plots import add_curves, add_marker, latent_scatter, map_coords, to_map
from ui.state import require_data
from vae_core import theory
from vae_core.latent import pca_head, projected_ellipse
from vae_core.theory.estimators import baseline_variance_curve

EPS_COLOR, Z_COLOR = "#7f7f7f", "#1f77b4"
BASE_COLOR = "#2ca02c"
REP_COLOR, SCORE_COLOR = "#1f77b4", "#ff7f0e"


@st.cache_data(show_spinner="Running both gradient estimators…", max_entries=64)
def _curve(f: str, mu: float, sigma: float, repeats: int) -> EstimatorCurve:
    return estimator_curve(f, mu, sigma, repeats)


@st.cache_data(show_spinner=False, max_entries=64)
def _baseline_curve(f: str, mu: float, sigma: float, repeats: int) -> dict:
    return baseline_variance_curve(f, mu, sigma, SAMPLE_SIZES[1:], repeats=repeats, seed=0)


def _bump_seed() -> None:
    st.session_state["rp_seed"] = st.session_state.get("rp_seed", 0) + 1


def main() -> None:
    st.title("The reparameterisation trick")
    st.markdown(
        "To train the encoder we need the gradient of an expectation over $z\\sim q_\\phi(z|x)$ with respect to "
        "$\\phi$, and the distribution we average over *depends on* $\\phi$ (the seed's *gradient problem*):")
    st.latex(r"\nabla_\phi \mathbb{E}_{q_\phi(z|x)}[f(z)] \;=\; ?")
    st.markdown("**Theorem 2.1** moves the randomness into a fixed noise $\\epsilon$ so that $z$ becomes a smooth, "
                "deterministic function of $\\phi$:")
    st.latex(r"z = \mu_\phi(x) + \sigma_\phi(x) \odot \epsilon, \quad \epsilon \sim \mathcal{N}(0, I)")
    st.latex(r"\nabla_\phi \mathbb{E}_{q_\phi(z|x)}[f(z)] = "
             r"\mathbb{E}_{\epsilon \sim \mathcal{N}(0,I)}[\nabla_\phi f(\mu_\phi(x) + \sigma_\phi(x) \odot \epsilon)]")
    st.caption("The gradient can now be estimated by Monte Carlo: draw ε, push it through μ and σ, differentiate.")

    # ====================================================================== (a) ε -> z
    st.header("1 · From noise ε to a latent z", divider="gray")
    left, right = st.columns([1, 2.6], gap="large")
    with left:
        mu1 = st.slider("μ (shift)", -3.0, 3.0, 1.0, 0.1, key="rp_mu1")
        sd1 = st.slider("σ (stretch)", 0.1, 2.5, 0.5, 0.05, key="rp_sd1")
        n1 = st.select_slider("number of ε samples", (100, 300, 1000, 3000, 10000), value=3000, key="rp_n1")
        demo = theory.reparam_draws(mu1, sd1, n1, seed=0)
        eps, z = demo["eps"][:, 0].numpy(), demo["z"][:, 0].numpy()
        st.markdown(f"mean of the z's: **{z.mean():.3f}**  \n(μ = {mu1:.2f})  \n"
                    f"std of the z's: **{z.std(ddof=1):.3f}**  \n(σ = {sd1:.2f})")
    with right:
        grid = np.linspace(-6, 6, 601)
        fig = go.Figure()
        bins = dict(start=-6, end=6, size=0.1)
        fig.add_trace(go.Histogram(x=eps, histnorm="probability density", xbins=bins, name="ε ~ 𝒩(0, 1)",
                                   marker_color=EPS_COLOR, opacity=0.45))
        fig.add_trace(go.Histogram(x=z, histnorm="probability density", xbins=bins, name="z = μ + σ·ε",
                                   marker_color=Z_COLOR, opacity=0.55))
        fig.add_trace(go.Scatter(x=grid, y=theory.gaussian_pdf(grid, 0.0, 1.0).numpy(), name="𝒩(0, 1) density",
                                 line=dict(color="black", width=1.5, dash="dot")))
        fig.add_trace(go.Scatter(x=grid, y=theory.gaussian_pdf(grid, mu1, sd1 ** 2).numpy(),
                                 name="𝒩(μ, σ²) density", line=dict(color=Z_COLOR, width=2)))
        fig.update_layout(barmode="overlay", height=300, margin=dict(l=10, r=10, t=40, b=10),
                          title=dict(text=f"{n1:,} draws of ε and the same draws moved to z", font_size=15),
                          xaxis_title="value (ε or z)", yaxis_title="density", xaxis_range=[-5, 5],
                          legend=dict(orientation="h", y=-0.3))
        st.plotly_chart(fig, key="rp_hist")
        # the mapping itself: 40 draws, a line from each ε to its z
        m = 40
        xs, ys = [], []
        for a, b in zip(eps[:m], z[:m], strict=True):
            xs += [float(a), float(b), None]
            ys += [0, 1, None]
        fig = go.Figure()
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", line=dict(color="lightgray", width=1), showlegend=False,
                                 hoverinfo="skip"))
        fig.add_trace(go.Scatter(x=eps[:m], y=np.zeros(m), mode="markers", name="ε", marker=dict(color=EPS_COLOR)))
        fig.add_trace(go.Scatter(x=z[:m], y=np.ones(m), mode="markers", name="z", marker=dict(color=Z_COLOR)))
        fig.update_layout(height=170, margin=dict(l=10, r=10, t=10, b=10), xaxis_range=[-5, 5], showlegend=False,
                          xaxis_title="value", yaxis=dict(tickvals=[0, 1], ticktext=["ε", "z"], range=[-0.3, 1.3]))
        st.plotly_chart(fig, key="rp_map")
    st.caption("Each z is one fixed ε, stretched by σ and shifted by μ. The randomness lives entirely in ε, which does "
               "not depend on μ or σ, so a small change of μ moves every z by the same amount and a change of σ "
               "stretches them: gradients can flow straight through the sampling step.")

    # -------------------------------------------------------------- on the active model
    am = st.session_state.get("_active")
    st.subheader("The same trick inside the active model's encoder")
    if am is None:
        st.info("Pick or train a model (sidebar) to see z = μ + σ ⊙ ε on a real digit.")
    else:
        data = require_data(am)
        st.session_state.setdefault("rp_seed", 0)
        c1, c2 = st.columns([1.4, 1], gap="large")
        with c1:
            idx = digit_picker(data, "rp_digit")
        with c2:
            K = st.slider("K: draws z = μ + σ ⊙ ε", 10, 500, 100, 10, key="rp_K")
            st.button("Resample ε", icon=":material/casino:", on_click=_bump_seed, key="rp_resample")
        seed = int(st.session_state["rp_seed"])
        mu_all, lv_all = am.encodings()
        mu, lv = mu_all[idx].astype(np.float64), lv_all[idx].astype(np.float64)
        sigma = np.exp(0.5 * lv)
        draws = theory.reparam_draws(mu, sigma, K, seed=seed)["z"].numpy()
        label = int(data.labels[idx])
        left, right = st.columns([1.5, 1], gap="large")
        with left:
            if am.latent_dim >= 2:
                coords, axes = map_coords(am, n=3000)
                labels = data.labels.numpy()[:len(coords)]
                fig = latent_scatter(coords, labels, axes, height=430, class_names=data.class_names or None)
                for tr in fig.data:
                    tr.marker.opacity = 0.35
                    tr.marker.size = 6
                    tr.showlegend = False
                if am.latent_dim == 2:
                    ells = [theory.gaussian_ellipse(mu, np.diag(sigma ** 2), k).numpy() for k in (1, 2)]
                else:
                    pca2 = pca_head(am.pca(), 2)
                    ells = [projected_ellipse(mu, lv, pca2, k) for k in (1, 2)]
                c = to_map(am, mu)[0]
                dz = to_map(am, draws)
                span = max(1.5 * float(np.abs(np.vstack([ells[1], dz]) - c).max()), 0.15)
                add_marker(fig, c, "μ (encoder mean)", color="#d62728", size=13)
                add_curves(fig, ells, "q(z|x): 1σ and 2σ", color="black", width=2)
                fig.add_trace(go.Scatter(x=dz[:, 0], y=dz[:, 1], mode="markers", name=f"{K} draws z = μ + σ ⊙ ε",
                                         marker=dict(color="black", size=6, symbol="circle-open")))
                axes_note = "" if am.latent_dim == 2 else ", first two principal axes"
                fig.update_layout(
                    dragmode="pan", legend=dict(orientation="h", y=-0.2, title_text=""),
                    margin=dict(l=10, r=10, t=40, b=10),
                    title=dict(text=f"Zoom on q(z|x) of test #{idx} (digit {label}){axes_note}", font_size=15),
                    xaxis_range=[c[0] - span, c[0] + span], yaxis_range=[c[1] - span, c[1] + span])
                fig.update_yaxes(scaleanchor="x", scaleratio=1)
                st.plotly_chart(fig, key="rp_latent")
                st.caption(f"Zoomed to ±{span:.2f} around μ. Coloured dots: encoder means of other test digits "
                           "(colour = digit). The open circles are K draws z = μ + σ ⊙ ε of this digit's q(z|x), "
                           "filling its ellipse: the encoder is sure to within about σ. "
                           + ("" if am.latent_dim == 2 else f"The model has {am.latent_dim} latent dimensions; the "
                              "map shows them projected onto the first two principal axes of all test means."))
            else:
                st.info("A 1-D latent space has no map; the draws are summarised on the right.")
        with right:
            recon = am.decode(draws[:10], am.model.condition(label))
            st.image(to_image_cell(data.images[idx].numpy(), 84), caption=f"test #{idx} (digit {label})")
            st.image(to_image_cell(wrap_strip(recon, 5), 70), caption="decoder output for the first 10 draws z")
            if am.latent_dim <= 4:
                st.dataframe(pd.DataFrame({"dimension": [f"z{j + 1}" for j in range(am.latent_dim)], "μ": mu,
                                           "σ": sigma}).style.format({"μ": "{:.3f}", "σ": "{:.3f}"}), hide_index=True)
            else:
                fig = go.Figure(go.Bar(x=[f"z{j + 1}" for j in range(am.latent_dim)], y=mu,
                                       error_y=dict(type="data", array=sigma), marker_color="#9467bd"))
                fig.update_layout(height=220, margin=dict(l=10, r=10, t=30, b=10), xaxis_title="latent dimension",
                                  yaxis_title="μ ± σ", title=dict(text="encoder output μ ± σ", font_size=14))
                st.plotly_chart(fig, key="rp_musd")
            st.caption("Different ε, different z, slightly different digits: this spread is the randomness the "
                       "reconstruction term 𝔼_q[log p(x|z)] averages over.")

    # ====================================================================== (b) the gradient problem
    st.header("2 · Why it matters: gradient variance", divider="gray")
    st.markdown(
        "Take $q = \\mathcal N(\\mu, \\sigma^2)$ and a test function $f$. Both estimators below average $n$ random "
        "gradients and are **unbiased**; what differs is how much each estimate scatters. The *reparameterised* "
        "estimator differentiates $f$ at $z = \\mu + \\sigma\\epsilon$ (Thm 2.1; by the chain rule "
        "$\\partial z/\\partial\\mu = 1$, $\\partial z/\\partial\\sigma = \\epsilon$). The *score-function* "
        "(REINFORCE) estimator, the textbook alternative that is not in the seed, never differentiates $f$: it "
        "multiplies $f(z)$ by the gradient of $\\log q(z)$. Plain REINFORCE has no **baseline**; in practice one "
        "subtracts one, $(f(z_i) - b_i)\\,\\nabla\\log q(z_i)$, which stays unbiased for any $b_i$ that does not "
        "depend on $z_i$. The third estimator uses the mean of the *other* $n-1$ values of $f$ in the batch "
        "(leave-one-out; Kool et al. 2019), so it starts at $n = 2$.")
    c1, c2, c3, c4 = st.columns([1.1, 1, 1, 1.1])
    fname = c1.selectbox("test function f(z)", list(theory.INTEGRANDS), key="rp_f")
    mu2 = c2.slider("μ", -2.0, 2.0, 0.2, 0.1, key="rp_mu2")
    sd2 = c3.slider("σ", 0.1, 2.0, 0.4, 0.05, key="rp_sd2")
    param = c4.radio("gradient with respect to", ["mu", "sigma"], format_func={"mu": "μ", "sigma": "σ"}.get,
                     horizontal=True, key="rp_param")
    p = 0 if param == "mu" else 1
    curve = _curve(fname, float(mu2), float(sd2), 200)
    bl = _baseline_curve(fname, float(mu2), float(sd2), 200)
    summ = curve.summary(p)
    per_sample_bl = sum(n * v[p] for n, v in zip(bl['n'], bl['var_baseline'], strict=True)) / len(bl['n'])
    sym = "μ" if p == 0 else "σ"
    left, right = st.columns([1.25, 1], gap="large")
    with left:
        fig = go.Figure()
        fig.add_trace(go.Scatter(x=curve.n, y=[v[p] for v in curve.var_reparam], mode="lines+markers",
                                 name="reparameterisation (Thm 2.1)", line=dict(color=REP_COLOR, width=3)))
        fig.add_trace(go.Scatter(x=curve.n, y=[v[p] for v in curve.var_score], mode="lines+markers",
                                 name="REINFORCE, no baseline", line=dict(color=SCORE_COLOR, width=3, dash="dash")))
        fig.add_trace(go.Scatter(x=bl["n"], y=[v[p] for v in bl["var_baseline"]], mode="lines+markers",
                                 name="REINFORCE, leave-one-out baseline",
                                 line=dict(color=BASE_COLOR, width=3, dash="dot")))
        fig.update_layout(
            height=380, margin=dict(l=10, r=10, t=40, b=10), legend=dict(orientation="h", y=-0.25),
            title=dict(text=f"Variance of the n-sample estimate of ∂/∂{sym} 𝔼[{fname}]", font_size=15),
            xaxis=dict(type="log", title="n: samples averaged per gradient estimate (log scale)",
                       tickvals=[1, 4, 16, 64, 256, 1024]),
            yaxis=dict(type="log", title="variance over 200 repeats (gradient units²)", exponentformat="power"))
        st.plotly_chart(fig, key="rp_var")
    with right:
        true = "—" if summ["true"] is None else f"{summ['true']:.4f}"
        df = pd.DataFrame({
            "": ["true value", "reparameterised", "REINFORCE, no baseline", "REINFORCE, baseline"],
            "gradient": [true, f"{summ['reparam_mean']:.4f} ± {summ['reparam_se']:.4f}",
                         f"{summ['score_mean']:.4f} ± {summ['score_se']:.4f}",
                         f"{bl['mean_baseline'][-1][p]:.4f} ± {math.sqrt(bl['var_baseline'][-1][p] / 200):.4f}"],
            "var/sample": ["—", f"{summ['reparam_var1']:.3g}", f"{summ['score_var1']:.3g}", f"{per_sample_bl:.3g}"]})
        st.markdown(f"**∂/∂{sym} 𝔼[{fname}]** at μ = {mu2:.2f}, σ = {sd2:.2f}: mean ± standard error of 200 "
                    f"estimates, each averaging n = {summ['n']:,} samples")
        st.dataframe(df, hide_index=True)
        ratio = summ["ratio"]
        if ratio >= 1:
            st.success(f"Both means agree with the true gradient (unbiased). Here the reparameterised estimator's "
                       f"variance is **{ratio:.1f}× lower**: it needs about {ratio:.0f}× fewer samples for the same "
                       f"precision.")
        else:
            st.warning(f"Both means agree with the true gradient (unbiased), but here the reparameterised estimator "
                       f"is **{1 / ratio:.1f}× noisier** than REINFORCE without a baseline.")
    st.caption(
        "All lines fall with slope −1 on this log-log plot (variance ∝ 1/n): averaging more samples always helps. "
        "The vertical distance between them is what matters: it says how many more samples one estimator needs to be "
        "as precise as the other. For smooth, slowly varying f the reparameterised estimator usually wins by a wide "
        "margin, because it uses the slope f′(z) instead of guessing it from the value f(z). "
        "**The honest exception:** for f = sin(3z) at μ = 0.2, σ = 0.4 and ∂/∂μ the reparameterised variance is "
        "higher (≈ 3.15 against ≈ 2.0). There f′(z) = 3 cos(3z) swings between −3 and 3 over q's width, while f itself "
        "is bounded by 1, so multiplying the bounded f by the score is the quieter recipe. Reparameterisation is a "
        "strong default, not a law.")


main()
