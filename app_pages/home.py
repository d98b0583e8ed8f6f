"""Home: what a VAE is, one link per page (ui.nav's list) and the active model."""

import streamlit as st

from ui.fmt import fmt
from ui.nav import HOME, PAGES


def main() -> None:
    st.title("VAE Latent Explorer")
    st.markdown(
        "A variational autoencoder squeezes each 28×28 digit into a few numbers **z** and learns to draw digits "
        "back from them. This app lets you *see* that space and the trade-off that shapes it:"
    )
    st.latex(r"\log p_\theta(x) \;\ge\; \mathcal{L}(x) = "
             r"\underbrace{\mathbb{E}_{q_\phi(z|x)}[\log p_\theta(x|z)]}_{\text{reconstruction}}"
             r"\;-\;\underbrace{D_{KL}(q_\phi(z|x)\,\|\,p(z))}_{\text{rate}}")
    st.markdown("The right-hand side is the **ELBO** (evidence lower bound). A β-VAE trains on a different objective, "
                "which weighs the rate by β:")
    st.latex(r"\mathcal{L}_\beta(x) = \mathbb{E}_{q_\phi(z|x)}[\log p_\theta(x|z)] - \beta\, "
             r"D_{KL}(q_\phi(z|x)\,\|\,p(z)) \;\le\; \mathcal{L}(x) \le \log p_\theta(x)\quad "
             r"\text{only when } \beta \ge 1")
    st.caption("For β < 1 the β-objective can exceed log p(x): on the shipped β = 0.5 model it lies about 3 nats above "
               "the exact value, computed by integrating over z on a grid (ELBO & Bounds, *The exact value*). With "
               "grey pixels and the Bernoulli cross-entropy, 'log p(x|z)' is minus a cross-entropy and the bound is on "
               "log ∫ exp(−BCE) p(z) dz rather than on a log-likelihood of the image.")

    for page in PAGES:
        if page.path == HOME:
            continue
        c_link, c_what = st.columns([1, 2.6], vertical_alignment="center")
        c_link.page_link(page.path, label=f"**{page.title}**")
        c_what.markdown(page.what)

    am = st.session_state.get("_active")
    if am is not None:
        tm = am.meta.get("test_metrics") or {}
        st.info(f"Active model: **{am.name}** — latent size {am.latent_dim}, β = {am.meta.get('beta', 1.0):g}, "
                f"test −ELBO {fmt(tm.get('neg_elbo'), 1)} nats/image. Change it in the sidebar.")


main()
