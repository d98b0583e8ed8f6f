"""The sidebar every page shares: the model picker and the active model's key facts and data source."""

from __future__ import annotations

import streamlit as st

from ui.compute.naming import metric_names
from ui.fmt import fmt
from ui.jobs_view import keep_alive
from ui.memory import start_janitor
from ui.owner import store_in_browser
from ui.state import DEFAULT_MODEL, SHIPPED_DIR, ActiveModel, available_models, get_model, session_id
from ui.text import plain
from vae_core import CheckpointError, DataUnavailable
from vae_core.jobs import get_manager


def sidebar() -> ActiveModel | None:
    """Model picker and key facts; stores the choice in session_state['model_key']."""
    store_in_browser()  # the owner secret lives in the browser (a cookie), never in the URL (ui.owner, #21)
    keep_alive(get_manager(), session_id())  # this session's trainings: found again after a reload, kept alive
    start_janitor()  # memory freed by closed sessions goes back to the OS (ui.memory)
    models = available_models()
    if not models:
        st.sidebar.error("No models found: train one on the *Train & Models* page, or add checkpoints to "
                         f"`{SHIPPED_DIR}`.")
        return None
    keys = list(models)
    cur = st.session_state.get("model_key")
    if cur not in models:
        cur = DEFAULT_MODEL if DEFAULT_MODEL in models else keys[0]
        st.session_state["model_key"] = cur
    st.sidebar.selectbox("Active model", keys, format_func=models.get, key="model_key",
                         help="Shipped checkpoints, models saved on this server, and models trained or "
                              "uploaded in this session.")
    try:
        am = get_model(st.session_state["model_key"])
    except (CheckpointError, FileNotFoundError, KeyError) as exc:
        st.sidebar.error(f"Could not load this model: {plain(exc)}")
        return None
    meta = am.meta
    tm = meta.get("test_metrics") or {}
    kind = "CVAE" if am.conditional else "VAE"
    arch = "-".join(str(h) for h in [am.model.input_dim, *am.model.hidden_dims, am.latent_dim])
    c1, c2 = st.sidebar.columns(2)
    c1.metric("latent size", am.latent_dim)
    c2.metric("β", f"{meta.get('beta', 1.0):g}")
    names = metric_names(meta)  # what the stored numbers are, by likelihood and data (#11)
    c1.metric(names["neg_elbo"][0], fmt(tm.get("neg_elbo"), 1), help=names["neg_elbo"][1])
    c2.metric(names["iwae_nll"][0], fmt(tm.get("iwae_nll"), 1), help=names["iwae_nll"][1])
    n_train = (meta.get("dataset") or {}).get("n_train")
    n_txt = f"{n_train:,}" if isinstance(n_train, int) else "?"
    epochs = meta.get("epochs")
    e_txt = f"{epochs:,}" if isinstance(epochs, int) and not isinstance(epochs, bool) else "?"
    st.sidebar.caption(plain(f"{kind} {arch} · trained {e_txt} epochs on {n_txt} images"))
    try:
        data = am.data("test")
    except DataUnavailable as exc:
        st.sidebar.error(str(exc))
        return am
    if data.is_sample:
        st.sidebar.warning("**Offline sample data.** " + data.description)
    else:
        st.sidebar.caption(f"Data: {data.description}")
    return am
