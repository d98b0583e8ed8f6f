"""Exact Identity (Thm 1.2): log p(x) = ELBO + KL(q || p(z|x)), live, on a model where all three are exact.

A linear-Gaussian latent model (vae_core.theory.LinearGaussianModel) makes log p(x), the posterior p(z|x),
the ELBO and KL(q || p(z|x)) available in closed form; the learner moves q's mean and variance and watches
the two right-hand terms trade off while their sum stays equal to log p(x) to ~1e-15.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from ui.formula import formula_row
from vae_core import theory

MEAN_RANGE = (-3.0, 3.0)
LOGVAR_RANGE = (-4.0, 1.5)
RHO_RANGE = (-0.95, 0.95)
Q_COLOR, POST_COLOR, PRIOR_COLOR = "#d62728", "#1f77b4", "#7f7f7f"


def _num(v: float, nd: int = 6) -> str:
    """Fixed-point with a proper minus sign, and no '-0.000000' for values that round to zero."""
    if abs(v) < 0.5 * 10 ** -nd:
        v = 0.0
    return f"{v:.{nd}f}".replace("-", "−")


@st.cache_resource
def _demo(d: int):
    return theory.identity_demo(d)


def _snap_to(mean, logvars, rho) -> None:
    for j, v in enumerate(mean):
        st.session_state[f"id_m{j}"] = float(v)
    for j, v in enumerate(logvars):
        st.session_state[f"id_lv{j}"] = float(v)
    st.session_state["id_rho"] = float(rho)


def _snap_posterior(lgm, x) -> None:
    mp, Sp = lgm.posterior(x)
    lv, rho = theory.cov_to_params(Sp)
    _snap_to(mp.tolist(), lv, rho)


def _snap_mean_field(lgm, x) -> None:
    m, S = theory.mean_field_optimum(lgm, x)
    lv, _ = theory.cov_to_params(S)
    _snap_to(m.tolist(), lv, 0.0)


def _reset_q(d: int) -> None:
    _snap_to([1.5, -1.0][:d], [0.0, 0.0][:d], 0.0)


def _row(formula: str, value: str, note: str = "") -> None:
    formula_row(formula, value, note, widths=(2.7, 1.4))


# ---------------------------------------------------------------- page


def main() -> None:
    st.title("Exact identity: log p(x) = ELBO + KL")
    st.markdown(
        "For a real VAE nobody can compute $\\log p_\\theta(x)$ or the true posterior $p_\\theta(z|x)$. Here we use a "
        "tiny **linear-Gaussian** latent model, $z\\sim\\mathcal N(0,I_d)$, $x\\,|\\,z\\sim\\mathcal N(Wz+b,\\,s^2 "
        "I_3)$, "
        "where *everything* is exact, and check **Theorem 1.2** of the seed for any approximate posterior $q$ you "
        "choose:")
    st.latex(r"\log p_\theta(x) = \mathcal{L}(q_\phi, \theta; x) + D_{KL}(q_\phi(z|x) \,\|\, p_\theta(z|x))")
    st.caption("Move q with the sliders: the ELBO 𝓛 and the KL gap change a lot, their sum never does. "
               "Because KL ≥ 0 (Gibbs' inequality), the ELBO is always a lower bound (Cor 1.1).")

    c1, c2 = st.columns([1, 3])
    d = c1.radio("latent dimension d", [1, 2], horizontal=True, key="id_d",
                 help="d = 2 lets q have two means, two variances and a correlation ρ")
    lgm, xs = _demo(d)
    labels = [f"x{i + 1} = (" + ", ".join(f"{v:+.2f}" for v in x.tolist()) + ")" for i, x in enumerate(xs)]
    xi = c2.selectbox("observed x (3 numbers, drawn from the model)", range(len(xs)), format_func=labels.__getitem__,
                      key=f"id_x{d}")
    x = xs[xi]

    # first visit / after changing d: start q away from the posterior so that there is a gap to close
    if st.session_state.get("_id_d_prev") != d or "id_m0" not in st.session_state:
        _reset_q(d)
        st.session_state["_id_d_prev"] = d


    @st.fragment
    def live(lgm, x, d: int) -> None:
        mp, Sp = lgm.posterior(x)
        lv_p, rho_p = theory.cov_to_params(Sp)

        left, right = st.columns([1, 2.1], gap="large")
        with left:
            st.markdown("**Choose q(z) = 𝒩(m, Σ)**")
            for j in range(d):
                st.slider(f"mean m{j + 1}" if d > 1 else "mean m", *MEAN_RANGE, step=0.01, format="%.2f",
                          key=f"id_m{j}")
            for j in range(d):
                st.slider(f"log-variance log σ{j + 1}²" if d > 1 else "log-variance log σ²", *LOGVAR_RANGE,
                          step=0.01, format="%.2f", key=f"id_lv{j}")
            if d == 2:
                st.slider("correlation ρ", *RHO_RANGE, step=0.01, format="%.2f", key="id_rho",
                          help="ρ = 0 is a mean-field (diagonal) q")
            with st.container(horizontal=True):
                st.button("set q = p(z|x)", type="primary", on_click=_snap_posterior, args=(lgm, x), key="id_snap",
                          help="snap every slider to the exact posterior (Cor 1.2: the gap vanishes)")
                if d == 2:
                    st.button("best mean-field q", on_click=_snap_mean_field, args=(lgm, x), key="id_mf",
                              help="the best q with ρ = 0: right means, variances 1/diag(precision)")
                st.button("reset q", on_click=_reset_q, args=(d,), key="id_reset")

        m = [st.session_state[f"id_m{j}"] for j in range(d)]
        lv = [st.session_state[f"id_lv{j}"] for j in range(d)]
        rho = st.session_state.get("id_rho", 0.0) if d == 2 else 0.0
        S = theory.cov_from_params(lv, rho)
        r = {k: float(v) for k, v in lgm.identity_check(x, m, S).items()}

        with right:
            _row(r"\log p_\theta(x) = \log \int p(z)\, p_\theta(x|z)\, dz", f"{_num(r['log_px'])} nats",
                 "exact: x is Gaussian here")
            _row(r"\mathcal{L} = \mathbb{E}_{q}[\log p_\theta(x|z)] - D_{KL}(q \,\|\, p(z))", f"{_num(r['elbo'])} nats",
                 f"= {_num(r['expected_log_lik'], 4)} − {_num(r['kl_prior'], 4)}")
            _row(r"D_{KL}(q \,\|\, p_\theta(z|x)) = \mathbb{E}_{q}\!\left[\log \frac{q(z)}{p_\theta(z|x)}\right]",
                 f"gap = {_num(r['kl_posterior'])} nats", "≥ 0 always (Cor 1.1)")
            _row(r"\mathcal{L} + D_{KL}(q \,\|\, p_\theta(z|x))", f"{_num(r['elbo'] + r['kl_posterior'])} nats")
            _row(r"\log p_\theta(x) - \big(\mathcal{L} + D_{KL}(q \,\|\, p_\theta(z|x))\big)",
                 f"{r['residual']:.1e} nats".replace("-", "−"), "float64 rounding error only")
            if r["kl_posterior"] < 1e-9:
                st.success("q equals the posterior p(z|x): the ELBO *is* log p(x) and the gap is zero (Cor 1.2).")
            elif d == 2 and abs(rho) < 1e-12 and abs(rho_p) > 0.05:
                st.info(f"With ρ = 0 (mean-field) q cannot match this posterior, whose correlation is ρ = {rho_p:.2f}: "
                        "some gap always remains.")

        # ---------------------------------------------------------------- plots
        p1, p2 = st.columns([1.25, 1], gap="medium")
        fig = go.Figure()
        if d == 1:
            grid = np.linspace(-4.0, 4.0, 801)
            sp = float(Sp.reshape(()))
            fig.add_trace(go.Scatter(x=grid, y=theory.gaussian_pdf(grid, 0.0, 1.0).numpy(), name="prior p(z)",
                                     line=dict(color=PRIOR_COLOR, dash="dot")))
            fig.add_trace(go.Scatter(x=grid, y=theory.gaussian_pdf(grid, float(mp[0]), sp).numpy(),
                                     name="posterior p(z|x)", fill="tozeroy", line=dict(color=POST_COLOR, width=3)))
            fig.add_trace(go.Scatter(x=grid, y=theory.gaussian_pdf(grid, m[0], float(S[0, 0])).numpy(), name="q(z)",
                                     line=dict(color=Q_COLOR, width=3, dash="dash")))
            fig.update_layout(xaxis_title="z", yaxis_title="density (1 / unit of z)")
        else:
            for ns, w in ((1, 3), (2, 1.5)):
                for mean, cov, name, color, dash in ((np.zeros(2), np.eye(2), "prior p(z)", PRIOR_COLOR, "dot"),
                                                     (mp.numpy(), Sp.numpy(), "posterior p(z|x)", POST_COLOR, None),
                                                     (np.array(m), S.numpy(), "q(z)", Q_COLOR, "dash")):
                    e = theory.gaussian_ellipse(mean, cov, ns).numpy()
                    fig.add_trace(go.Scatter(x=e[:, 0], y=e[:, 1], mode="lines", name=name, legendgroup=name,
                                             showlegend=ns == 1, line=dict(color=color, width=w, dash=dash),
                                             hoverinfo="skip"))
            fig.add_trace(go.Scatter(x=[float(mp[0])], y=[float(mp[1])], mode="markers", name="posterior mean",
                                     marker=dict(color=POST_COLOR, size=9, symbol="x")))
            fig.update_layout(xaxis_title="z₁", yaxis_title="z₂", xaxis_range=[-3.5, 3.5], yaxis_range=[-3.5, 3.5])
            fig.update_yaxes(scaleanchor="x", scaleratio=1)
        title = "q(z) against the true posterior" + (" (1σ and 2σ contours)" if d == 2 else "")
        fig.update_layout(title=dict(text=title, font_size=15), height=380, margin=dict(l=10, r=10, t=40, b=10),
                          legend=dict(orientation="h", y=-0.2))
        p1.plotly_chart(fig, key="id_density")

        lo = min(r["elbo"], r["log_px"])
        wf = go.Figure()
        wf.add_trace(go.Bar(x=["ELBO 𝓛"], y=[r["elbo"]], name="ELBO 𝓛", marker_color="#2ca02c",
                            text=[f"{r['elbo']:.3f}"], textposition="outside"))
        wf.add_trace(go.Bar(x=["ELBO + KL gap"], y=[r["elbo"]], name="ELBO 𝓛", marker_color="#2ca02c",
                            showlegend=False, hoverinfo="skip"))
        wf.add_trace(go.Bar(x=["ELBO + KL gap"], y=[r["kl_posterior"]], base=[r["elbo"]], name="KL(q‖p(z|x))",
                            marker_color=Q_COLOR, text=[f"+{r['kl_posterior']:.3f}"], textposition="inside"))
        wf.add_trace(go.Bar(x=["log p(x)"], y=[r["log_px"]], name="log p(x)", marker_color=POST_COLOR,
                            text=[f"{r['log_px']:.3f}"], textposition="outside"))
        wf.add_hline(y=r["log_px"], line=dict(color="black", dash="dot", width=1))
        wf.update_layout(title=dict(text="log p(x) split into ELBO + KL gap", font_size=15), height=380,
                         barmode="overlay", yaxis_title="nats", yaxis_range=[1.25 * lo - 1, max(1.0, 0.15 * abs(lo))],
                         margin=dict(l=10, r=10, t=40, b=10), legend=dict(orientation="h", y=-0.2))
        p2.plotly_chart(wf, key="id_waterfall")
        p1.caption("Blue is the exact posterior p(z|x), red dashed is your q. The closer q sits on the blue curve, the "
                   "smaller the KL gap.")
        p2.caption("The red KL piece stacked on the green ELBO reaches exactly the dotted log p(x) level, whatever q "
                   "is. Here all values are negative because of the chosen noise level s = 0.8, not because "
                   "log-densities must be: a density can exceed 1, and with s = 0.1 the same model gives positive "
                   "log p(x) for every x shown.")

        # ------------------------------------------------------- ELBO vs q's mean
        j = 0
        if d == 2:
            j = st.radio("sweep the mean of", [0, 1], format_func=lambda k: f"z{k + 1}", horizontal=True,
                         key="id_sweep_dim")
        vals = np.linspace(*MEAN_RANGE, 241)
        cur = theory.elbo_sweep(lgm, x, m, S, j, vals)
        best = theory.elbo_sweep(lgm, x, mp, Sp, j, vals)  # q = posterior except coordinate j of the mean
        fig = go.Figure()
        fig.add_hline(y=cur["log_px"], line=dict(color="black", width=2),
                      annotation_text=f"log p(x) = {cur['log_px']:.3f} nats", annotation_position="top left")
        fig.add_trace(go.Scatter(x=vals, y=best["elbo"], name="ELBO, q's (co)variance = posterior's", line=dict(
            color=POST_COLOR, width=2, dash="dash")))
        fig.add_trace(go.Scatter(x=vals, y=cur["elbo"], name="ELBO with your q's (co)variance", line=dict(
            color=Q_COLOR, width=3)))
        fig.add_trace(go.Scatter(x=[m[j]], y=[r["elbo"]], mode="markers", name="your q", marker=dict(
            color=Q_COLOR, size=12, line=dict(color="white", width=2))))
        fig.add_vline(x=float(mp[j]), line=dict(color=POST_COLOR, dash="dot"),
                      annotation_text="posterior mean", annotation_position="bottom right")
        top = cur["log_px"]
        fig.update_layout(title=dict(text=f"ELBO as a function of q's mean m{j + 1 if d == 2 else ''} "
                                          "(everything else fixed)", font_size=15),
                          xaxis_title=f"q's mean m{j + 1 if d == 2 else ''}", yaxis_title="nats",
                          yaxis_range=[min(top - 12, r["elbo"] - 1), top + 1.5], height=360,
                          margin=dict(l=10, r=10, t=40, b=10), legend=dict(orientation="h", y=-0.25))
        st.plotly_chart(fig, key="id_sweep")
        st.caption("The ELBO is a hill that never rises above the black log p(x) line. The blue dashed hill, with the "
                   "posterior's (co)variance, touches the line exactly at the posterior mean: that single point is q = "
                   "p(z|x). With any other variance the hill peaks below the line, and the distance left over is the "
                   "KL "
                   "gap. Maximising the ELBO over q is the same as minimising KL(q‖p(z|x)) (Cor 1.3), because "
                   "log p(x) does not depend on q. The notes state Cor 1.3 for the decoder's θ too, which is wrong: "
                   "over θ a higher ELBO can come from a smaller gap while log p(x) falls (an example is on the "
                   "ELBO & Bounds page, *Where the notes are wrong*).")


    live(lgm, x, d)


main()
