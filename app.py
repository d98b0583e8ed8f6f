"""VAE latent-space explorer: `streamlit run app.py`.

The entry point sets the page up, builds the navigation from ui.nav's page list, renders the shared
sidebar (active model + data facts) and runs the chosen page.
"""

from pathlib import Path

import streamlit as st

# the tab icon is a local file served by this server: a ":material/…:" page icon makes the browser fetch it from
# fonts.gstatic.com (#21: the app makes no request to any other host)
st.set_page_config(page_title="VAE Latent Explorer", page_icon=str(Path(__file__).with_name("ui") / "favicon.png"),
                   layout="wide")

from ui.nav import HOME, sections  # noqa: E402  (after set_page_config)
from ui.sidebar import sidebar  # noqa: E402

nav = {section: [st.Page(p.path, title=p.title, icon=p.icon, default=(p.path == HOME)) for p in pages]
       for section, pages in sections().items()}
pg = st.navigation(nav, expanded=True)  # every page listed, no "View more"
st.session_state["_active"] = sidebar()
pg.run()
