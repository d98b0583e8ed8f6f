"""VAE latent-space explorer: `streamlit run app.py`.

The entry point sets the page up, builds the navigation from ui.nav's page list, renders the shared
sidebar (active model + data facts) and runs the chosen page.
"""

import streamlit as st

st.set_page_config(page_title="VAE Latent Explorer", page_icon=":material/blur_on:", layout="wide")

from ui.nav import HOME, sections  # noqa: E402  (after set_page_config)
from ui.sidebar import sidebar  # noqa: E402

nav = {section: [st.Page(p.path, title=p.title, icon=p.icon, default=(p.path == HOME)) for p in pages]
       for section, pages in sections().items()}
pg = st.navigation(nav, expanded=True)  # every page listed, no "View more"
st.session_state["_active"] = sidebar()
pg.run()
