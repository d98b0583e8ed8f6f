"""VAE latent-space explorer: `streamlit run app.py`.

The entry point sets the page up, builds the navigation, renders the shared
sidebar (active model + data facts) and runs the chosen page.
"""

from pathlib import Path

import streamlit as st

st.set_page_config(page_title="VAE Latent Explorer", page_icon=":material/blur_on:", layout="wide")

import ui  # noqa: E402  (after set_page_config)

PAGES = {
    "Explore": [
        ("app_pages/home.py", "Home", ":material/home:"),
        ("app_pages/latent_map.py", "Latent Map", ":material/scatter_plot:"),
        ("app_pages/decoder_sliders.py", "Decoder Sliders", ":material/tune:"),
        ("app_pages/interpolation.py", "Interpolation", ":material/linear_scale:"),
    ],
    "Learn": [
        ("app_pages/beta_lab.py", "β/KL Lab", ":material/balance:"),
        ("app_pages/elbo_bounds.py", "ELBO & Bounds", ":material/functions:"),
        ("app_pages/exact_identity.py", "Exact Identity (Thm 1.2)", ":material/equal:"),
        ("app_pages/reparameterisation.py", "Reparameterisation (Thm 2.1)", ":material/casino:"),
    ],
    "Apply": [
        ("app_pages/drawing_board.py", "Drawing Board", ":material/draw:"),
        ("app_pages/conditional.py", "Conditional VAE", ":material/pin:"),
        ("app_pages/anomaly.py", "Anomaly Detection", ":material/warning:"),
        ("app_pages/inpainting.py", "Inpainting", ":material/healing:"),
        ("app_pages/latent_editing.py", "Latent Editing", ":material/brush:"),
        ("app_pages/compression.py", "Compression", ":material/compress:"),
    ],
    "Models": [
        ("app_pages/train_models.py", "Train & Models", ":material/model_training:"),
    ],
}
HERE = Path(__file__).resolve().parent
nav = {
    section: [st.Page(path, title=title, icon=icon, default=(path == "app_pages/home.py"))
              for path, title, icon in items if (HERE / path).is_file()]
    for section, items in PAGES.items()
}
pg = st.navigation({k: v for k, v in nav.items() if v}, expanded=True)  # all 15 pages, no "View more"
st.session_state["_active"] = ui.sidebar()
pg.run()
