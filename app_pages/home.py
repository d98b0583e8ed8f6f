from pathlib import Path

import streamlit as st

import ui

st.title("VAE Latent Explorer")
st.markdown(
    "A variational autoencoder squeezes each 28×28 digit into a few numbers **z** and learns to draw digits "
    "back from them. This app lets you *see* that space and the trade-off that shapes it:"
)
st.latex(r"\log p_\theta(x) \;\ge\; \underbrace{\mathbb{E}_{q_\phi(z|x)}[\log p_\theta(x|z)]}_{\text{reconstruction}}"
         r"\;-\;\beta\,\underbrace{D_{KL}(q_\phi(z|x)\,\|\,p(z))}_{\text{rate}}")

PAGES = [
    ("latent_map", "Latent Map", "where every test digit lands in latent space, its posterior σ, and the decoded "
                                 "manifold."),
    ("decoder_sliders", "Decoder Sliders", "move z by hand and watch the decoder draw; sample the prior; steer "
                                           "20-D models along principal directions."),
    ("interpolation", "Interpolation", "walk between two digits in latent space (linear or spherical) versus a "
                                       "pixel cross-fade."),
    ("beta_lab", "β/KL Lab", "train several β side by side and watch rate and distortion trade off; cause "
                             "posterior collapse and fix it with KL annealing or free bits."),
    ("elbo_bounds", "ELBO & Bounds", "the ELBO's two terms on a real digit, importance-weighted bounds rising "
                                     "towards log p(x)."),
    ("exact_identity", "Exact Identity (Thm 1.2)", "log p(x) = ELBO + KL(q‖p(z|x)) checked to machine precision "
                                                   "on a model where everything is tractable."),
    ("reparameterisation", "Reparameterisation (Thm 2.1)", "why z = μ + σ·ε gives low-variance gradients, "
                                                           "against REINFORCE."),
    ("drawing_board", "Drawing Board", "draw a digit and see where it lands, its reconstruction and its "
                                       "neighbours."),
    ("conditional", "Conditional VAE", "pick a class and a style; the same z across all ten digits."),
    ("anomaly", "Anomaly Detection", "score odd inputs by −ELBO and reconstruction error; ROC curves and AUC."),
    ("inpainting", "Inpainting", "fill in a masked half of a digit by iterated encode–decode."),
    ("latent_editing", "Latent Editing", "add ink, slant or 'more like a 7' to any digit."),
    ("compression", "Compression", "how many bits the code really carries, next to 784 bytes of pixels."),
    ("train_models", "Train & Models", "train your own model with live curves, save, upload and download "
                                       "checkpoints."),
]
HERE = Path(__file__).resolve().parent
for stem, name, what in PAGES:
    if not (HERE / f"{stem}.py").is_file():
        continue
    c_link, c_what = st.columns([1, 2.6], vertical_alignment="center")
    c_link.page_link(f"app_pages/{stem}.py", label=f"**{name}**")
    c_what.markdown(what)

am = st.session_state.get("_active")
if am is not None:
    tm = am.meta.get("test_metrics") or {}
    st.info(f"Active model: **{am.name}** — latent size {am.latent_dim}, β = {am.meta.get('beta', 1.0):g}, "
            f"test −ELBO {ui.fmt(tm.get('neg_elbo'), 1)} nats/image. Change it in the sidebar.")
