"""The Recommender page's cached data and its sections (the page file lists them).

Everything shown is computed here from the shipped Mult-VAE checkpoints and the installed MovieLens-100k
(``vae_core.recommender``): the users' posteriors, the test metrics of each model and of the two baselines
(re-measured from weights and data, not read from the JSON), and the annealing curve the training recorded.
"""

from __future__ import annotations

import contextlib
import json

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from ui.live_items import coords_and_plane, live_items_map
from ui.state import SHIPPED_DIR
from ui.text import plain
from vae_core import families
from vae_core.latent import PCA
from vae_core.recommender import data as D
from vae_core.recommender import explore as E

MAP_MODELS = {"movielens-multvae-z2": "z = 2: the map is the latent space",
              "movielens-multvae-z200": "z = 200 (the paper's size): the map is the PCA plane of the users' μ"}
MULT, BERN, MULT2 = "movielens-multvae-z200", "movielens-bernoulli-z200", "movielens-multvae-z2"
DEFAULT_PICKS = ("Star Wars (1977)", "Raiders of the Lost Ark (1981)", "Toy Story (1995)")
K = 10


# ------------------------------------------------------------------ cached data
@st.cache_resource(show_spinner="Reading MovieLens-100k …")
def ratings() -> D.Ratings:
    return D.load_ratings()


@st.cache_resource(show_spinner=False)
def split(seed: int) -> D.Split:
    return D.split(ratings(), seed=seed)


@st.cache_resource(show_spinner="Loading the recommender …")
def rec_model(name: str):
    model, meta = families.get("mult-vae").load(SHIPPED_DIR / name)
    return model.eval(), meta


def checkpoint_meta(name: str) -> dict:
    """The checkpoint's JSON (the recorded annealing curve and recipe), without loading the weights."""
    return json.loads((SHIPPED_DIR / f"{name}.json").read_text())


@st.cache_resource(show_spinner=False)
def catalog(name: str) -> E.Catalog:
    return E.catalog(ratings(), rec_model(name)[1]["item_ids"])


@st.cache_resource(show_spinner="Encoding every user …")
def users_view(name: str) -> dict:
    """Every user's μ, log σ², map coordinates (z or PCA), colour label and the PCA's explained variance."""
    model, meta = rec_model(name)
    sp = split(int(meta["split_seed"]))
    if [int(i) for i in sp.item_ids] != meta["item_ids"]:
        raise D.DataError("the installed MovieLens copy does not give this checkpoint's item columns "
                          "(its item_ids differ from the split's): the checkpoint was made from other data")
    mu, lv = E.posteriors(model, sp.full)
    pca = PCA(mu) if mu.shape[1] > 2 else None
    coords, axes, plane = coords_and_plane(mu, pca)
    labels, names, _ = E.genre_labels(ratings(), sp.all_users)
    return {"mu": mu, "logvar": lv, "coords": coords, "axes": axes, "plane": plane, "labels": labels,
            "names": names, "users": sp.all_users, "clicks": sp.full.sum(1),
            "explained": None if pca is None else pca.explained_ratio[:2].tolist()}


@st.cache_data(show_spinner="Measuring on the test users …")
def measured(name: str) -> dict:
    model, meta = rec_model(name)
    return E.model_test_metrics(model, split(int(meta["split_seed"])))


@st.cache_data(show_spinner="Measuring popularity and EASE on the test users …")
def baselines(seed: int, ease_lambda: float) -> dict:
    return E.baseline_test_metrics(split(seed), ease_lambda)


# ------------------------------------------------------------------ sections
def intro() -> None:
    st.title("Recommender")
    st.markdown(
        "A **VAE for collaborative filtering** (Mult-VAE, Liang et al. 2018). A user is the 0/1 row x of the "
        f"movies they liked (rated ≥ {D.RATING_THRESHOLD:g} stars, a *click*). The encoder reads x / ‖x‖₂ "
        "through a 600-unit tanh layer to q(z|x) = N(μ, diag σ²); the decoder maps z through 600 tanh units to "
        "one logit per movie, and "
        "π = softmax(logits) is a distribution over the movies: the model's log-likelihood of a user is "
        "Σᵢ xᵢ log πᵢ (**multinomial**). Recommending = ranking the movies a user has not clicked by πᵢ at "
        f"z = μ. Two groups of {D.N_HELDOUT} users are held out of training (validation, test) and the "
        "models are tested on users they never saw (strong generalisation): 80 % of each test user's clicks "
        "are fed in, the other 20 % must be found.")


def data_available() -> bool:
    try:
        ratings()
    except D.DataError as exc:
        st.error("The map and the measurements need MovieLens-100k: " + plain(exc))
        return False
    return True


def _picks_widget(cat: E.Catalog) -> list[int]:
    st.session_state.setdefault("rec_picks", [t for t in DEFAULT_PICKS if t in cat.column_of()])
    st.session_state["rec_picks"] = [t for t in st.session_state["rec_picks"] if t in cat.column_of()]
    picked = st.multiselect(f"You: movies you like (type to search the {len(cat.labels):,} titles the model scores)",
                            cat.labels, key="rec_picks", placeholder="type a title …",
                            help="each one is a click in your row x; the page encodes x as soon as the list changes")
    with st.expander("Paste a list of titles (one a line)"):
        st.text_area("titles", key="rec_paste", height=100, label_visibility="collapsed",
                     placeholder="Fargo (1996)\nContact (1997)")
        st.button("Add these titles", key="rec_add", on_click=_add_pasted, args=(cat,))
        unknown = st.session_state.get("rec_unknown")
        if unknown:
            try:
                E.columns_for(unknown, cat)
            except D.DataError as exc:
                st.warning("Not added: " + plain(exc))
    return E.columns_for(picked, cat)


def _add_pasted(cat: E.Catalog) -> None:
    known, unknown = E.resolve_pasted(st.session_state.get("rec_paste", ""), cat)
    have = list(st.session_state.get("rec_picks", []))
    st.session_state["rec_picks"] = have + [t for t in known if t not in have]
    st.session_state["rec_unknown"] = unknown


def explore_section() -> None:
    st.header("Users on the map, and you")
    name = st.radio("model", list(MAP_MODELS), format_func=lambda n: f"{n} ({MAP_MODELS[n]})", key="rec_model",
                    horizontal=False)
    try:
        model, meta = rec_model(name)
        cat = catalog(name)
        view = users_view(name)
    except D.DataError as exc:
        st.error(plain(exc))
        return
    cols = _picks_widget(cat)
    counts = np.bincount(view["labels"], minlength=len(view["names"]))
    live = live_items_map(model, view["coords"], view["labels"], key=f"rec_live_{name}", titles=cat.labels,
                          picks=cols, plane=view["plane"], label_names=view["names"], axes=view["axes"], k=K,
                          name=name, points=view["mu"], ids=view["users"], family=meta.get("family"))
    n_users = len(view["users"])
    where = ("z itself" if view["plane"] is None else
             f"the plane of the first two principal components of the {n_users} users' μ "
             f"({100 * view['explained'][0]:.1f} % and {100 * view['explained'][1]:.1f} % of their variance); "
             "the pointer decodes z = mean + PC1·u₁ + PC2·u₂, a point of that plane")
    st.caption(f"Each dot is one of the {n_users} MovieLens users with a click: their μ for all their clicks, "
               f"on {where}. Colour: the genre of most of the movies the user rated ("
               + ", ".join(f"{g} {c}" for g, c in zip(view["names"], counts, strict=True))
               + " users); a movie with several genres counts for each. Hover: the page decodes the z under the "
                 "pointer — or, within 6 px of a user, that user's own μ (all its dimensions) — and lists the 10 "
                 "largest πᵢ of all movies, the user's own clicks included (the server is not asked). You: your μ "
                 "(circle) and the 1σ (solid) and 2σ (dashed) ellipses of q(z|x) — for z = 200 the ellipse of the "
                 "projected Gaussian on the plane.")
    if not live.ok:  # the server's lists instead
        _server_lists(model, cat, cols)


def _server_lists(model, cat: E.Catalog, cols: list[int]) -> None:
    if not cols:
        st.info("Pick movies you like to see your recommendations.")
        return
    mu, _ = E.posteriors(model, E.pick_vector(len(cat.labels), cols))
    logits = E.item_logits(model, mu)[0]
    top = E.top_k(logits, K, exclude=cols)
    pi = E.softmax(logits)
    st.dataframe(pd.DataFrame({"your top 10": [cat.labels[c] for c in top],
                               "π (%)": np.round(100 * pi[top], 2)}), hide_index=True)


def beta_section() -> None:
    st.header("The β story")
    curves = {n: checkpoint_meta(n) for n in (MULT, MULT2)}
    fig = go.Figure()
    for n, meta in curves.items():
        c = meta["beta_curve"]
        fig.add_trace(go.Scatter(x=[p["beta"] for p in c], y=[p["val_ndcg@100"] for p in c], mode="lines",
                                 name=n, hovertemplate="β = %{x:.3f}<br>NDCG@100 = %{y:.3f}<extra></extra>"))
        best = max(c, key=lambda p: p["val_ndcg@100"])
        fig.add_trace(go.Scatter(x=[best["beta"]], y=[best["val_ndcg@100"]], mode="markers", showlegend=False,
                                 marker=dict(size=10, symbol="circle-open", line=dict(width=2)),
                                 hovertemplate=f"{n}: weights kept (best validation)<extra></extra>"))
    fig.update_layout(height=360, margin=dict(l=10, r=10, t=30, b=10), xaxis_title="β at the end of the epoch",
                      yaxis_title="validation NDCG@100", legend=dict(orientation="h", y=1.1))
    st.plotly_chart(fig, key="rec_beta_fig", config={"displaylogo": False})
    m = curves[MULT]
    c = m["beta_curve"]
    best = max(c, key=lambda p: p["val_ndcg@100"])
    r = m["recipe"]
    st.markdown(
        f"Training maximises Σᵢ xᵢ log πᵢ − β·KL(q(z|x) ‖ N(0, I)) with β raised linearly from 0 to "
        f"{r['anneal_to']} over {r['epochs']} epochs (β = {r['anneal_to']}·step/steps), recording the "
        f"validation NDCG@100 of {len(m['validation_users'])} held-out users after every epoch. For z = 200 it "
        f"peaks at {best['val_ndcg@100']:.3f} at β = {best['beta']:.3f} (epoch {best['epoch']}) and ends at "
        f"{c[-1]['val_ndcg@100']:.3f} at β = {c[-1]['beta']:.3f}; the weights of the best epoch are the ones "
        "shipped — the paper's procedure (Liang et al. 2018, Fig. 1: anneal, keep the β with the best validation "
        "NDCG; their best β was about 0.2). β grows with training time here, so the curve mixes "
        "the two, as the paper's does.")


def _row(name: str, m: dict, ref: float | None) -> dict:
    return {"model": name, "Recall@20": m["recall@20"], "Recall@50": m["recall@50"], "NDCG@100": m["ndcg@100"],
            "NDCG@100 / Mult-VAE z=200": None if ref is None else m["ndcg@100"] / ref}


def compare_section() -> None:
    st.header("Multinomial against the notes' Bernoulli, and two baselines")
    metas = {n: rec_model(n)[1] for n in (MULT, BERN, MULT2)}
    got = {n: measured(n) for n in metas}
    lam = float(metas[MULT]["metrics"]["baselines"]["ease"]["lambda"])
    base = baselines(int(metas[MULT]["split_seed"]), lam)
    ref = got[MULT]["ndcg@100"]
    rows = [_row(f"Mult-VAE z = 200 (multinomial, β annealed, kept at {metas[MULT]['beta_at_best']:.3f})",
                 got[MULT], ref),
            _row("notes' version z = 200 (sigmoid outputs, Bernoulli, β = 1)", got[BERN], ref),
            _row(f"Mult-VAE z = 2 (the map's model, kept at β = {metas[MULT2]['beta_at_best']:.3f})", got[MULT2], ref),
            _row(f"EASE (Steck 2019, closed form, λ = {lam:g} tuned on validation)", base["ease"], ref),
            _row("popularity (clicks among the training users)", base["popularity"], ref)]
    df = pd.DataFrame(rows)
    st.dataframe(df.style.format({c: "{:.3f}" for c in df.columns if c != "model"}), hide_index=True,
                 key="rec_table")
    m, b = got[MULT], got[BERN]
    worse = [k for k in ("recall@20", "recall@50", "ndcg@100") if b[k] < m[k]]
    better = [k for k in ("recall@20", "recall@50", "ndcg@100") if b[k] > m[k]]
    names = {"recall@20": "Recall@20", "recall@50": "Recall@50", "ndcg@100": "NDCG@100"}
    parts = [f"{names[k]} {b[k]:.3f} against {m[k]:.3f} ({100 * (b[k] / m[k] - 1):+.1f} %)" for k in worse]
    verdict = (f"**The notes' version is worse on {len(worse)} of the 3 metrics:** " + "; ".join(parts) + "."
               if worse else "The notes' version is not worse on any metric here.")
    if better:
        verdict += " It is better on " + ", ".join(names[k] for k in better) + "."
    st.markdown(
        verdict + " Two things differ between the two runs — the likelihood (softmax over the movies vs one "
        "sigmoid per movie) and β (annealed and picked on validation vs fixed at 1) — so this table does not "
        "say how much each contributes. The paper's extended experiments (Liang et al. 2018) compare the "
        "multinomial with the logistic (this Bernoulli) and Gaussian likelihoods and find the multinomial ranks "
        "better; their reason: a softmax makes the movies compete for one unit of probability mass, which is "
        "what a ranking needs.")
    st.markdown(
        f"Mult-VAE (z = 200) reaches **{ref / base['popularity']['ndcg@100']:.2f}×** popularity's NDCG@100 and "
        f"**{ref / base['ease']['ndcg@100']:.3f}×** EASE's. Definitions (the paper's): for a test user "
        "with held-out set I and the fold-in movies removed from the ranking ω, Recall@K = |{ω(1..K)} ∩ I| / "
        "min(K, |I|) and NDCG@K = DCG@K / IDCG@K with DCG@K = Σ_{r=1..K} [ω(r) ∈ I] / log₂(r + 1); each number "
        f"is the mean over the {len(split(int(metas[MULT]['split_seed'])).test_users)} test users, measured now "
        "from the weights and the data.")


def source_section() -> None:
    st.header("Data")
    st.markdown(
        "**MovieLens-100k**: 100,000 ratings (1–5 stars) of 1,682 movies by 943 users, collected by GroupLens "
        "Research at the University of Minnesota (F. Maxwell Harper and Joseph A. Konstan, 2015, *The MovieLens "
        "Datasets: History and Context*, ACM TiiS 5(4)). Its terms allow research use and forbid redistribution "
        "without permission, so the data is not in this repository: the app reads the copy inside the "
        "`recbole` 1.2.1 wheel (installed with `--no-deps` by the set-up command), or GroupLens's own archive "
        "fetched by `python -m vae_core.recommender.data --download`.")
    with contextlib.suppress(D.DataError):
        st.caption("Read from: " + plain(ratings().source))
