"""Figures of the β/KL Lab: the rate–distortion plane with lines of equal ELBO, KL per latent dimension with
inactive units greyed, the latent maps of a sweep side by side, the KL curves of the collapsed and fixed runs and
the KL-weight schedule. Each takes :class:`Entry` rows (a model of a sweep with its evaluated statistics) and
returns a plotly figure; the numbers come from vae_core.digits.analysis."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
import torch
from plotly.colors import sample_colorscale
from plotly.subplots import make_subplots

from ui.fmt import fmt_beta
from ui.plots import DIGIT_COLORS
from vae_core.digits.analysis import ModelStats, ema, equal_elbo_lines, focus_range
from vae_core.latent import PCA

INACTIVE = "#c7c7c7"

@dataclass
class Entry:
    """One model of a sweep as the page draws it."""

    label: str
    beta: float
    model: torch.nn.Module | None
    stats: ModelStats | None  # on the first test digits
    traj: np.ndarray | None  # (n, 3) step, rate, distortion of the training reports
    live: bool = False
    title: str = ""  # short name in plot titles (default "β = …")

    @property
    def short(self) -> str:
        return self.title or f"β = {fmt_beta(self.beta)}"


def beta_colors(n: int) -> list[str]:
    return sample_colorscale("Plasma", list(np.linspace(0.0, 0.85, n))) if n > 1 else ["#0d0887"]



def rd_figure(entries: list[Entry]) -> go.Figure:
    """The rate–distortion plane: a smoothed training path per β, the test-set point, lines of equal ELBO."""
    cols = beta_colors(len(entries))
    rates, dists = [], []
    for e in entries:
        if e.traj is not None and len(e.traj):
            rates.append(e.traj[:, 1])
            dists.append(ema(e.traj[:, 2]))
        if e.stats is not None:
            rates.append(np.array([e.stats.rate]))
            dists.append(np.array([e.stats.distortion]))
    r_lo, r_hi = focus_range(rates, tail=0.8)
    r_lo = min(-0.03 * r_hi, 0.0) if r_lo < 0.1 * r_hi else r_lo
    d_lo, d_hi = focus_range(dists, tail=0.6)
    fig = go.Figure()
    for i, (c, seg) in enumerate(equal_elbo_lines((r_lo, r_hi), (d_lo, d_hi), n=8)):
        fig.add_trace(go.Scatter(x=seg[:, 0], y=seg[:, 1], mode="lines", line=dict(color="#999", width=1, dash="dot"),
                                 name="equal ELBO: D + R = const", legendgroup="elbo", showlegend=i == 0,
                                 hoverinfo="skip"))
        fig.add_annotation(x=seg[1, 0], y=seg[1, 1], text=f"−ELBO {c:g}", showarrow=False, xanchor="right",
                           yanchor="bottom", font=dict(size=11, color="#777"))
    for e, col in zip(entries, cols, strict=False):  # beta_colors(0) still gives one colour
        name = f"β = {fmt_beta(e.beta)}"
        shown = False
        if e.traj is not None and len(e.traj):
            fig.add_trace(go.Scatter(
                x=e.traj[:, 1], y=ema(e.traj[:, 2]), mode="lines", name=name, legendgroup=e.label,
                line=dict(color=col, width=2), customdata=e.traj[:, 0],
                hovertemplate=f"{name}, training batches<br>step %{{customdata:.0f}}<br>R %{{x:.2f}} · "
                              "D %{y:.1f} nats<extra></extra>"))
            fig.add_trace(go.Scatter(x=e.traj[-1:, 1], y=ema(e.traj[:, 2])[-1:], mode="markers", legendgroup=e.label,
                                     showlegend=False, marker=dict(color=col, size=8, symbol="circle-open"),
                                     hoverinfo="skip"))
            shown = True
        if e.stats is not None:
            s = e.stats
            fig.add_trace(go.Scatter(
                x=[s.rate], y=[s.distortion], mode="markers", name=name, legendgroup=e.label, showlegend=not shown,
                marker=dict(color=col, size=15, line=dict(color="white", width=2)),
                hovertemplate=f"{name} on {len(s.mu):,} test digits<br>rate R = {s.rate:.2f} nats<br>distortion D = "
                              f"{s.distortion:.1f} nats<br>−ELBO = D + R = {s.neg_elbo:.1f}<br>β-loss D + βR = "
                              f"{s.beta_loss(e.beta):.1f}<extra></extra>"))
    fig.update_layout(
        height=470, margin=dict(l=10, r=10, t=10, b=10), uirevision="rd-plane",
        xaxis=dict(title="rate R = KL(q(z|x) ‖ p(z))   [nats / image]", range=[r_lo, r_hi], zeroline=False),
        yaxis=dict(title="distortion D = −E_q[log p(x|z)]   [nats / image]", range=[d_lo, d_hi]),
        legend=dict(title_text="KL weight", orientation="v"),
    )
    return fig


def kl_bars_figure(entries: list[Entry], lam: float | None = None, height: int = 270) -> go.Figure:
    """Per-dimension KL of each model on test digits; grey bars are inactive units (Cov_x E_q[z_j] <= 0.01)."""
    shown = [e for e in entries if e.stats is not None]
    titles = [f"{e.short}: {e.stats.n_active}/{len(e.stats.kl_per_dim)} active" for e in shown]
    fig = make_subplots(rows=1, cols=max(len(shown), 1), shared_yaxes=True, subplot_titles=titles or None,
                        horizontal_spacing=0.03)
    for i, e in enumerate(shown, start=1):
        k = e.stats.kl_per_dim
        act = e.stats.active
        fig.add_trace(go.Bar(
            x=np.arange(1, len(k) + 1), y=k, marker_color=[("#1f77b4" if a else INACTIVE) for a in act],
            customdata=e.stats.latent_var, showlegend=False,
            hovertemplate="z%{x}: KL %{y:.3f} nats<br>Cov<sub>x</sub> E[z] = %{customdata:.3f}<extra></extra>"),
            row=1, col=i)
        if lam:
            fig.add_hline(y=lam, line=dict(color="#d62728", dash="dash", width=1), row=1, col=i)
        fig.update_xaxes(title_text="latent dimension j", row=1, col=i, dtick=1 if len(k) <= 10 else 5)
    fig.update_yaxes(title_text="KL_j  [nats]", row=1, col=1)
    fig.update_annotations(font_size=13)
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=40, b=10), bargap=0.15)
    return fig


def scatter_figure(entries: list[Entry], labels: np.ndarray, n: int = 1000) -> go.Figure:
    """Posterior means of the first n test digits per model, side by side (z itself for d = 2, else PCA)."""
    shown = [e for e in entries if e.stats is not None]
    d = len(shown[0].stats.kl_per_dim) if shown else 2
    # one scale for every map with β > 0 (d <= 2), wide enough for the most spread-out of them; β = 0 (nothing
    # holds its codes near the prior, they can spread ten times wider) gets its own scale
    def extent(e: Entry) -> float:
        return max(4.2, float(np.abs(e.stats.mu[:n]).max()) * 1.05)

    common = max([extent(e) for e in shown if e.beta > 0] or [4.2])
    own = [d <= 2 and e.beta == 0 and extent(e) > common for e in shown]
    titles = [f"β = {fmt_beta(e.beta)}" + (" (own scale)" if o else "") for e, o in zip(shown, own, strict=True)]
    fig = make_subplots(rows=1, cols=max(len(shown), 1), subplot_titles=titles or None, horizontal_spacing=0.03)
    t = np.linspace(0, 2 * np.pi, 80)
    for i, e in enumerate(shown, start=1):
        mu = e.stats.mu[:n]
        if mu.shape[1] == 2:
            xy, centre = mu, np.zeros(2)
        elif mu.shape[1] == 1:
            xy, centre = np.c_[mu[:, 0], np.zeros(len(mu))], np.zeros(2)
        else:
            p = PCA(mu, 2)
            xy, centre = p.transform(mu), p.transform(np.zeros((1, mu.shape[1])))[0]
        lab = labels[: len(xy)]
        for c in range(10):
            m = lab == c
            if m.any():
                fig.add_trace(go.Scatter(  # SVG: clipped to its subplot (WebGL is not, with square domains)
                    x=xy[m, 0], y=xy[m, 1], mode="markers", name=str(c), legendgroup=str(c), showlegend=i == 1,
                    marker=dict(size=4, color=DIGIT_COLORS[c], opacity=0.7),
                    hovertemplate=f"digit {c}<br>(%{{x:.2f}}, %{{y:.2f}})<extra></extra>"), row=1, col=i)
        fig.add_trace(go.Scatter(x=centre[0] + 2 * np.cos(t), y=centre[1] + 2 * np.sin(t), mode="lines",
                                 line=dict(color="black", width=1, dash="dash"), name="prior 2σ circle",
                                 legendgroup="prior", showlegend=i == 1, hoverinfo="skip"), row=1, col=i)
        lim = extent(e) if own[i - 1] else common
        if d <= 2:  # square maps on one common scale
            fig.update_xaxes(range=[-lim, lim], constrain="domain", row=1, col=i)
            fig.update_yaxes(range=[-lim, lim], scaleanchor=f"x{'' if i == 1 else i}", scaleratio=1,
                             constrain="domain", row=1, col=i)
        fig.update_xaxes(title_text="z₁" if d <= 2 else "PC1 of μ", row=1, col=i)
    fig.update_yaxes(title_text="z₂" if d <= 2 else "PC2 of μ", row=1, col=1)
    fig.update_layout(height=330 if len(shown) > 2 else 420, margin=dict(l=10, r=10, t=40, b=10),
                      legend=dict(title_text="digit", orientation="h", y=-0.18, x=0), uirevision="lab-scatter")
    return fig




def rd_table(entries: list[Entry]) -> list[dict]:
    """One row per evaluated model: D, R, −ELBO = D + R, the β-loss D + βR and the active units."""
    rows = []
    for e in entries:
        if e.stats is None:
            continue
        s = e.stats
        rows.append({"β": e.beta, "distortion D": round(s.distortion, 2), "rate R (KL)": round(s.rate, 2),
                     "−ELBO = D + R": round(s.neg_elbo, 2), "β-loss D + βR": round(s.beta_loss(e.beta), 2),
                     "active units": f"{s.n_active}/{len(s.kl_per_dim)}"})
    return rows


def collapse_curves_figure(members: list[dict]) -> go.Figure:
    """The smoothed KL of the training batches of each run (left axis) and the KL weight β_t it used (right)."""
    fig = go.Figure()
    colors = ["#d62728", "#2ca02c"]
    for m, col in zip(members, colors, strict=False):  # colours for the two runs a collapse job has
        reps = [r for r in m["reports"] if r.kind == "step"]
        if not reps:
            continue
        fig.add_trace(go.Scatter(x=[r.step for r in reps], y=ema([r.kl for r in reps]), name=f"KL · {m['label']}",
                                 line=dict(color=col, width=2)))
        fig.add_trace(go.Scatter(x=[r.step for r in reps], y=[r.kl_weight for r in reps], yaxis="y2",
                                 name=f"weight β_t · {m['label'].split(':')[0]}",
                                 line=dict(color=col, width=1, dash="dot")))
    fig.update_layout(height=300, margin=dict(l=10, r=10, t=10, b=10), xaxis_title="optimisation step",
                      yaxis=dict(title="KL  [nats / image]", rangemode="tozero"),
                      yaxis2=dict(title="KL weight β_t", overlaying="y", side="right", showgrid=False,
                                  range=[0, 1.1 * max([m["config"].beta for m in members] + [1e-3])]),
                      legend=dict(orientation="h", y=-0.25))
    return fig


def kl_weight_figure(steps: np.ndarray, weights: np.ndarray) -> go.Figure:
    """The fixed run's KL weight β_t against the optimisation step."""
    fig = go.Figure(go.Scatter(x=steps, y=weights, mode="lines", line=dict(color="#2ca02c")))
    fig.update_layout(height=200, margin=dict(l=10, r=10, t=30, b=10), title="the fixed run's KL weight β_t",
                      xaxis_title="step t", yaxis_title="β_t")
    return fig
