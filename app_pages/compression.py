"""Compression: what a latent code costs, against 784 bytes of pixels (seed §数据压缩与表示学习).
"""

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from ui.images import PX, to_image
from ui.pickers import digit_source
from ui.plots import chart_beside
from ui.state import page_start
from vae_core.digits.applications import best_class, compression_report, rate_summary
from vae_core.latent import rate_nats
from vae_core.theory.coding import bits_back_bits, lossless_baselines, rec_overhead_bits


@st.cache_data(show_spinner=False, max_entries=4)
def _zlib_mean(name: str, split: str, _images, n: int = 2000) -> tuple[float, int]:  # noqa: ARG001 - name, split: cache key
    b = lossless_baselines(_images[:n])
    return float(b["zlib8"].mean()), int(min(n, len(_images)))


def main() -> None:
    am, data = page_start("Compression")
    names = data.label_names
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
            y = int(data.labels[idx]) if idx is not None else int(best_class(am.model, x[None])[0])
    with c_note:
        st.info("**What KL/ln 2 bits buys.** It is the ideal cost of sending *one draw* z ~ q(z|x) when sender "
                "and receiver share a random seed: on average no scheme can do better, since I(X; Z) ≤ "
                "E[KL(q‖p)]. Real schemes pay more: Li & El Gamal (2018) prove an average of at most "
                "I + log₂(I + 1) + 5 bits, and relative-entropy coders (Flamich et al. 2020; Theis & Yosri 2022) pay "
                "an overhead of the order of log₂(KL + 1) bits plus a constant per image. The receiver gets "
                "decode(z): this is **lossy** compression, and it must be compared with lossy codes, not with "
                "storing every pixel.", icon=":material/compress:")

    rep = compression_report(am.model, x[None], y=y)
    r_nats, r_bits = float(rep["rate_nats"][0]), float(rep["rate_bits"][0])
    recon = rep["recon"][0].numpy()
    bce, mse = float(rep["recon_bce"][0]), float(rep["recon_mse"][0])
    loss = lossless_baselines(x[None])
    bb_bits = float(bits_back_bits(am.model, x[None], y)[0])

    mu, logvar = am.encodings()
    test_rates = rate_nats(mu, logvar)
    summ = rate_summary(test_rates)

    # ------------------------------------------------------------------------------------------- this digit
    st.subheader(f"This digit: {desc}")
    c1, c2, c3 = st.columns([1, 1, 2.2], gap="medium")
    c1.image(to_image(x, PX), width=PX, caption=f"8-bit pixels: {rep['pixel_bytes']} bytes raw, "
             f"{loss['zlib8'][0]} bytes zlib")
    c2.image(to_image(recon, PX), width=PX, caption=f"decoded from z: about {r_bits:.1f} bits to send z")
    with c3:
        m1, m2, m3 = st.columns(3)
        m1.metric("code size", f"{d}", help=f"d = {d} numbers: 784 / d = {rep['dim_ratio']:g} pixels per number")
        m2.metric("rate (bits)", f"{r_bits:.1f}", help="KL(q‖p): closed-form KL of this digit's q(z|x) from N(0, I), "
                  f"{r_nats:.2f} nats ÷ ln 2: the ideal cost of sending one z ~ q(z|x) (lossy)")
        m3.metric("lossless zlib, 8-bit", f"{8 * int(loss['zlib8'][0]):,} bits",
                  help=f"zlib level 9 of the same 784 bytes: {loss['zlib8'][0]} bytes (PNG: {loss['png8'][0]} bytes)")
        rec = rec_overhead_bits(np.array([r_nats]))["with_log_overhead"][0]
        st.markdown(
            f"- **lossy**, sending z: ideal **{r_bits:.1f} bits**; with the log₂(KL + 1) overhead of relative-entropy "
            f"coding about {rec:.1f} bits plus a constant. What arrives is decode(z) — BCE {bce:.1f} nats and mean "
            f"squared error {mse:.4f} per pixel for decode(μ)\n"
            f"- **lossless**, the 8-bit digit: raw 784 bytes = 6,272 bits; zlib **{8 * int(loss['zlib8'][0]):,} "
            f"bits**; PNG {8 * int(loss['png8'][0]):,} bits. This model gives no lossless code for 8-bit pixels: "
            "a Bernoulli cross-entropy on grey pixels is not the length of any code\n"
            f"- **lossless**, the binarised digit (1 bit per pixel): raw 784 bits; zlib {8 * int(loss['zlib1'][0])} "
            f"bits; PNG {8 * int(loss['png1'][0])} bits; **bits-back with this model ≈ {bb_bits:.0f} bits** "
            "(−ELBO of the binary digit in bits: the net length of a bits-back code, Frey & Hinton 1997; "
            "Townsend et al. 2019, plus a one-off start-up cost)\n"
            f"- storing μ as {d} float32 numbers: {32 * d} bits — the rate says most of those bits are noise")
    st.caption(
        "**What to notice:** a handful of bits buys the decoded digit on the right — the right digit, the rough "
        "shape, a smoothed stroke — but not the exact pen trace: lossy compression that keeps the meaning. "
        "Compared like with like, the lossless rows show what exact pixels cost.")
    st.latex(r"-\log_2 P_\theta(x) \;\le\; \frac{-\mathbb{E}_{q_\phi(z|x)}[\log P_\theta(x|z)] + "
             r"D_{KL}(q_\phi(z|x) \| p(z))}{\ln 2}\ \text{bits}\qquad (x \text{ binary})")
    st.caption("For a discrete x (the binarised digit) the right-hand side is the bits-back code length and "
               "−log₂ P(x) is the length of the best code under the model. For grey pixels with a Bernoulli "
               "cross-entropy neither side is a code length.")

    # ------------------------------------------------------------------------------------------- test set
    st.subheader("The whole test set")
    zlib_mean, n_base = _zlib_mean(data.name, data.split, data.images)
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
    with chart_beside(fig, "cp_hist"):
        st.metric("average rate over the test set", f"{summ['mean_bits']:.1f} bits",
                  help=f"{summ['mean_nats']:.2f} nats, mean over {summ['n']:,} test digits")
        st.metric("lossless zlib of the same digits", f"{8 * zlib_mean:,.0f} bits",
                  help=f"mean over the first {n_base:,} test digits, zlib level 9 of their 784 8-bit pixels; "
                       "a lossless code, so not comparable with the lossy rate")
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
