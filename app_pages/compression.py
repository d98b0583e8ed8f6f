"""Compression: what a latent code costs, against 784 bytes of pixels (seed §数据压缩与表示学习).
"""

import numpy as np
import plotly.graph_objects as go
import streamlit as st
import torch

from ui.images import PX, to_image
from ui.pickers import digit_source
from ui.state import require_data, require_model
from vae_core.applications import anomaly_scores, compression_report, rate_summary
from vae_core.latent import rate_nats


def main() -> None:
    st.title("Compression")
    am = require_model()
    data = require_data(am)
    names = data.class_names or [str(c) for c in range(10)]
    d = am.latent_dim
    st.markdown(
        "A VAE squeezes a 28×28 digit into a short code z. How short? Counting numbers, the seed's compression ratio "
        "is "
        "pixels over latent dimensions:")
    st.latex(r"\text{compression ratio} = \frac{H \times W \times C}{d} = \frac{28 \times 28 \times 1}{"
             + str(d) + r"} = " + f"{784 / d:g}")
    st.markdown(
        "But a number can hold any amount of detail, so counting numbers says little. The honest price of a code is "
        "its "
        "**rate**: how much the encoder's cloud q(z|x) differs from the prior p(z), measured by the KL term of the "
        "loss — "
        "in nats, or divided by ln 2, in bits:")
    st.latex(r"D_{KL}(\mathcal{N}(\mu, \sigma^2) \| \mathcal{N}(0, I)) = \frac{1}{2} \sum_{j=1}^{d_z} "
             r"(\mu_j^2 + \sigma_j^2 - \log \sigma_j^2 - 1)")

    c_pick, c_note = st.columns([1, 1.2], gap="large")
    with c_pick:
        x, idx, desc = digit_source(data, key="cp", default_class=2)
        y = None
        if am.conditional:
            if idx is not None:
                y = int(data.labels[idx])
            else:
                y = int(anomaly_scores(am.model, x[None], generator=torch.Generator().manual_seed(0))["label"][0])
    with c_note:
        st.info("**Bits-back, in plain words.** The sender does not send an exact z but one drawn from the cloud "
                "q(z|x), coded against the prior p(z). Picking a point inside a cloud of width σ costs nothing in the "
                "end: the receiver can recover the random choice and reuse those bits. What is left to pay, on "
                "average, "
                "is KL(q‖p). A wide cloud near the centre of the prior is cheap; a sharp cloud far out is expensive.",
                icon=":material/compress:")

    rep = compression_report(am.model, x[None], y=y)
    r_nats, r_bits = float(rep["rate_nats"][0]), float(rep["rate_bits"][0])
    ratio, total_bits = float(rep["ratio"][0]), float(rep["total_bits"][0])
    recon = rep["recon"][0].numpy()
    bce, mse = float(rep["recon_bce"][0]), float(rep["recon_mse"][0])

    mu, logvar = am.encodings()
    test_rates = rate_nats(mu, logvar)
    summ = rate_summary(test_rates)

    # ------------------------------------------------------------------------------------------- this digit
    st.subheader(f"This digit: {desc}")
    c1, c2, c3 = st.columns([1, 1, 2.2], gap="medium")
    c1.image(to_image(x, PX), width=PX, caption=f"pixels: {rep['pixel_bytes']} bytes "
             f"({rep['pixel_bits']:,} bits)")
    c2.image(to_image(recon, PX), width=PX, caption=f"decoded from the code: {r_bits:.1f} bits")
    with c3:
        m1, m2, m3 = st.columns(3)
        m1.metric("code size", f"{d}", help=f"d = {d} numbers: 784 / d = {rep['dim_ratio']:g} pixels per number")
        m2.metric("rate (bits)", f"{r_bits:.1f}", help="KL(q‖p): closed-form KL of this digit's q(z|x) from N(0, I), "
                  f"{r_nats:.2f} nats ÷ ln 2")
        m3.metric("vs. pixels", f"{ratio:,.0f}×",
                  help=f"this many times smaller than 784 bytes: {rep['pixel_bits']:,} bits / {r_bits:.1f} bits")
        st.markdown(
            f"- rate: **{r_nats:.2f} nats = {r_bits:.2f} bits** (nats ÷ ln 2)\n"
            f"- pixels: **784 bytes** = 784 × 8 = {rep['pixel_bits']:,} bits\n"
            f"- storing μ as {d} float32 numbers instead: {32 * d} bits ({rep['float32_ratio']:.1f}× smaller than the "
            "pixels) — the rate says most of those bits are noise\n"
            f"- reconstruction error of decode(μ): {bce:.1f} nats of BCE, mean squared error {mse:.4f} per pixel\n"
            f"- the exact pixels too: rate + reconstruction ≈ **{total_bits:.0f} bits** (−ELBO in bits)")
    st.caption(
        "**What to notice:** a handful of bits buys the decoded digit on the right — the right digit, the rough shape, "
        "a smoothed stroke — but not the exact pen trace. That is lossy compression that keeps the meaning. The "
        "missing "
        f"detail is what the reconstruction term still has to pay for: about {bce / np.log(2):.0f} more bits.")

    st.latex(r"\log p_\theta(x) \geq \mathbb{E}_{q_\phi(z|x)}[\log p_\theta(x|z)] - D_{KL}(q_\phi(z|x) \| p(z))")
    st.caption("Read in bits, the right-hand side is a code length: KL is the price of the code z, the first term the "
               "price of the pixels given z. Their sum bounds −log₂ p(x), the length of the best possible code for x.")

    # ------------------------------------------------------------------------------------------- test set
    st.subheader("The whole test set")
    bits = test_rates / np.log(2)
    fig = go.Figure()
    fig.add_trace(go.Histogram(x=bits, nbinsx=60, name="test digits", marker_color="#1f77b4", opacity=0.8))
    right = r_bits >= summ["mean_bits"]
    fig.add_vline(x=summ["mean_bits"], line_dash="dash", line_color="black",
                  annotation_text=f"mean {summ['mean_bits']:.1f} bits",
                  annotation_position="top left" if right else "top right")
    fig.add_vline(x=r_bits, line_color="#d62728", line_width=3, annotation_text=f"this digit: {r_bits:.1f} bits",
                  annotation_position="top right" if right else "top left", annotation_font_color="#d62728")
    x_lo = float(min(bits.min(), r_bits))
    x_hi = float(max(np.percentile(bits, 99.5), r_bits))
    fig.update_xaxes(range=[x_lo - 0.5, x_hi + 0.3 * (x_hi - x_lo) + 0.5])
    fig.update_layout(height=340, margin=dict(l=10, r=10, t=30, b=10), xaxis_title="rate KL(q‖p) per digit (bits)",
                      yaxis_title="number of test digits", showlegend=False, bargap=0.05)
    c1, c2 = st.columns([1.6, 1], gap="large")
    with c1:
        st.plotly_chart(fig, key="cp_hist", config={"displaylogo": False})
    with c2:
        st.metric("average rate over the test set", f"{summ['mean_bits']:.1f} bits",
                  help=f"{summ['mean_nats']:.2f} nats, mean over {summ['n']:,} test digits")
        st.metric("average saving against 784 bytes", f"{summ['ratio']:,.0f}×")
        per_class = [float(bits[labels_c].mean()) for labels_c in
                     (data.labels.numpy() == c for c in range(10)) if labels_c.any()]
        lo_c, hi_c = int(np.argmin(per_class)), int(np.argmax(per_class))
        st.caption(
            f"Half the test digits cost at most {summ['median_bits']:.1f} bits; 80 % lie between "
            f"{summ['p10_bits']:.1f} and {summ['p90_bits']:.1f}. Cheapest class on average: {names[lo_c]} "
            f"({per_class[lo_c]:.1f} bits); dearest: {names[hi_c]} ({per_class[hi_c]:.1f} bits). "
            + ("This CVAE is also given the label, which would cost another log₂ 10 ≈ 3.3 bits to send. "
               if am.conditional else "")
            + "Unusual digits (odd shapes, thick strokes) need a sharper cloud far from the centre, so they cost more.")


main()
