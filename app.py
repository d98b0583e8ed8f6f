"""VAE latent-space explorer: `streamlit run app.py`.

The entry point sets the page up, builds the navigation, renders the shared
sidebar (active model + data facts) and runs the chosen page.
"""

from pathlib import Path

import streamlit as st

st.set_page_config(page_title="VAE Latent Explorer", page_icon="🌀", layout="wide")

import ui  # noqa: E402  (after set_page_config)

PAGES = {
    "Explore": [
        ("pages/home.py", "Home", "🏠"),
        ("pages/latent_map.py", "Latent Map", "🗺️"),
        ("pages/decoder_sliders.py", "Decoder Sliders", "🎚️"),
        ("pages/interpolation.py", "Interpolation", "↔️"),
    ],
    "Learn": [
        ("pages/beta_lab.py", "β/KL Lab", "⚖️"),
        ("pages/elbo_bounds.py", "ELBO & Bounds", "📐"),
        ("pages/exact_identity.py", "Exact Identity (Thm 1.2)", "🟰"),
        ("pages/reparameterisation.py", "Reparameterisation (Thm 2.1)", "🎲"),
    ],
    "Apply": [
        ("pages/drawing_board.py", "Drawing Board", "✏️"),
        ("pages/conditional.py", "Conditional VAE", "🔢"),
        ("pages/anomaly.py", "Anomaly Detection", "🚨"),
        ("pages/inpainting.py", "Inpainting", "🩹"),
        ("pages/latent_editing.py", "Latent Editing", "🖌️"),
        ("pages/compression.py", "Compression", "🗜️"),
    ],
    "Models": [
        ("pages/train_models.py", "Train & Models", "🏋️"),
    ],
}
HERE = Path(__file__).resolve().parent
nav = {
    section: [st.Page(path, title=title, icon=icon, default=(path == "pages/home.py"))
              for path, title, icon in items if (HERE / path).is_file()]
    for section, items in PAGES.items()
}
pg = st.navigation({k: v for k, v in nav.items() if v})
st.session_state["_active"] = ui.sidebar()
pg.run()
