"""Latent Map: where the encoder puts each test digit, how sure it is, and what the decoder draws there."""

import numpy as np
import streamlit as st

from ui.images import png_bytes, strip, to_image_cell
from ui.plots import DIGIT_COLORS, add_curves, latent_scatter, map_coords, overlays_on_top, selected_indices, to_map
from ui.state import require_data, require_model
from vae_core.latent import (
    ellipse_points,
    manifold_grid,
    neighbour_agreement,
    pca_head,
    pca_plane,
    plane_grid,
    projected_ellipse,
    projected_std,
    rate_nats,
)

SHOW_MAX = 8  # selected digits shown in detail
TSNE_MAX = 3000  # t-SNE is run on at most this many points (cached)
SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def zname(i: int) -> str:
    return f"z{str(i + 1).translate(SUB)}"


@st.cache_data(show_spinner="Decoding the lattice…", max_entries=64)
def lattice_image(key: str, _model, r: float, n: int, y: int | None, plane: tuple | None) -> np.ndarray:
    """Decoded n×n lattice (cached per model/range/size/class)."""
    if plane is None:
        return manifold_grid(_model, (-r, r), (-r, r), n, y=y)
    origin, u, v = (np.asarray(a) for a in plane)
    return plane_grid(_model, origin, u, v, (-r, r), (-r, r), n, y=y)


@st.cache_data(show_spinner=False, max_entries=64)
def class_agreement(key: str, method: str, n: int, _coords: np.ndarray, _labels: np.ndarray) -> float:
    return neighbour_agreement(_coords, _labels)


st.title("Latent Map")
am = require_model()
data = require_data(am)
mu, logvar = am.encodings()
sigma = np.exp(0.5 * logvar)
labels = data.labels.numpy()
d, N = am.latent_dim, len(mu)
names = data.class_names or [str(c) for c in range(10)]

st.caption(
    "The encoder turns every test image x into a small Gaussian q(z|x) = N(μ, σ²) in latent space. Each dot is one "
    "test digit's **mean μ**, coloured by its true label — the model never saw the labels"
    + (" (except as the CVAE's condition)" if am.conditional else "")
    + ". Latent units are standard deviations of the prior N(0, I)."
)

tab_map, tab_manifold = st.tabs(["Map of the test set", "Decoded manifold"])

# ------------------------------------------------------------------ manifold settings (read by both tabs)
RANGE_DEFAULT, N_DEFAULT = 3.0, 10
m_range = float(st.session_state.get("lm_range", RANGE_DEFAULT))

with tab_map:
    c1, c2, c3 = st.columns([1.2, 1, 1.3])
    n_max = min(10_000, N)
    n_min = min(1_000, n_max)
    if n_max > n_min:
        n = c1.slider("Test digits plotted", n_min, n_max, min(5_000, n_max), step=500, key="lm_n",
                      help="The first n digits of the test split. More points = denser map, slower browser.")
    else:
        n = n_max
        c1.caption(f"All {n:,} test digits are plotted.")
    method = "pca"
    if d > 2:
        proj = c2.radio("Projection to 2-D", ["PCA", "t-SNE"], horizontal=True, key="lm_proj",
                        help=f"The model has {d} latent dimensions, so the map needs a projection. PCA is linear: "
                             "it shows the two directions along which the means vary most, in latent units. "
                             "t-SNE is non-linear: it keeps neighbours together but distances and axes mean little.")
        method = "tsne" if proj == "t-SNE" else "pca"
    else:
        c2.caption(f"{d}-D latent space: plotted directly, no projection.")
    linear = method == "pca"
    show_prior = c3.toggle("Prior N(0, I): 1σ and 2σ circles", value=True, key="lm_prior", disabled=not linear,
                           help="Where the prior p(z) puts most of its mass (for d > 2: its projection).")
    show_ell = c3.toggle("1σ ellipses of q(z|x)", value=False, key="lm_ell", disabled=not linear,
                         help="How uncertain the encoder is about each code: the 1-standard-deviation outline of "
                              "q(z|x) for a random sample of plotted digits"
                              + (" (projected through the PCA)." if d > 2 else "."))
    n_ell = 50
    if show_ell and linear:
        n_ell = c3.slider("ellipses drawn", 10, 200, 50, step=10, key="lm_n_ell")

    n_used = n
    if method == "tsne":
        n_used = min(n, TSNE_MAX)
        if n > TSNE_MAX:
            c2.caption(f"t-SNE uses the first {TSNE_MAX:,} points (it is slow).")
        with st.spinner(f"Running t-SNE on {n_used:,} points — up to a minute the first time, cached afterwards…"):
            coords, axes = map_coords(am, n_used, "tsne")
    else:
        coords, axes = map_coords(am, n_used, "pca")

    fig = latent_scatter(coords, labels[:n_used], axes, customdata=np.arange(n_used), height=620,
                            class_names=names)
    for tr in fig.data:
        tr.legendgroup = tr.name
    if linear:
        fig.update_yaxes(scaleanchor="x", scaleratio=1)  # same latent units on both axes: circles stay round
        centre = to_map(am, np.zeros(d))[0]
        if show_prior:
            t = np.linspace(0, 2 * np.pi, 73)
            circ = [centre + r * np.c_[np.cos(t), np.sin(t)] for r in (1.0, 2.0)]
            add_curves(fig, circ, "prior N(0, I): 1σ, 2σ", color="#555", width=1.5, dash="dash")
        if show_ell:
            rng = np.random.default_rng(0)
            pick = np.sort(rng.choice(n_used, size=min(n_ell, n_used), replace=False))
            p2 = pca_head(am.pca(), 2) if d > 2 else None
            for c in range(10):
                idx = pick[labels[pick] == c]
                if len(idx) == 0:
                    continue
                if d == 2:
                    curves = [ellipse_points(mu[i], sigma[i]) for i in idx]
                elif d > 2:
                    curves = [projected_ellipse(mu[i], logvar[i], p2) for i in idx]
                else:
                    curves = [np.c_[mu[i, 0] + sigma[i, 0] * np.array([-1.0, 1.0]), np.zeros(2)] for i in idx]
                add_curves(fig, curves, f"1σ of q(z|x), digit {names[c]}", color=DIGIT_COLORS[c],
                              width=1.2, legendgroup=names[c], showlegend=False, opacity=0.9)
        if d >= 2:
            # the square the Manifold tab decodes
            if d == 2:
                box = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1], [-1, -1]]) * m_range
            else:
                origin, u, v = pca_plane(am.pca())
                corners = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1], [-1, -1]]) * m_range
                box = to_map(am, origin + corners[:, :1] * u + corners[:, 1:] * v)
            add_curves(fig, [box], "area of the decoded manifold", color="#999", width=1, dash="dot")
    overlays_on_top(fig)
    fig.update_layout(legend=dict(itemsizing="constant"), margin=dict(t=36))  # room for the chart's toolbar

    event = st.plotly_chart(fig, key="lm_chart", on_select="rerun", selection_mode=("points", "box", "lasso"),
                            config={"displaylogo": False})
    agree = class_agreement(am.key, method, n_used, coords, labels[:n_used])
    how = (f"On this map {agree:.0%} of the dots have a nearest neighbour of the same digit (a map that ignored "
           "the class would score about 10%). ")
    if am.conditional:
        note = ("**What to notice:** in a CVAE the digit's label is handed to the encoder and the decoder, so z does "
                "not need to encode it — the classes mix and z holds *style* (slant, width, thickness). " + how)
    elif agree >= 0.7:
        note = ("**What to notice:** digits of one class form clusters, though similar-looking classes (4/9, 3/5/8) "
                "touch. " + how)
    elif agree >= 0.35:
        note = ("**What to notice:** the classes form clusters that overlap a lot: the code separates some digits "
                "but mixes look-alikes. " + how)
    elif d > 2 and method == "pca":
        note = ("**What to notice:** the classes overlap heavily in this 2-D shadow. " + how)
    else:
        note = ("**What to notice:** the classes are mixed together — this map barely separates digits (see the "
                "model's β and KL in the sidebar: a strong KL term squeezes the information out of z). " + how)
    if method == "tsne":
        note += ("t-SNE keeps neighbours together but distorts distances: gaps and cluster sizes here are not latent "
                 "distances. ")
    elif d > 2:
        note += (f"This is a linear shadow of {d}-D space: clusters that overlap here may still be apart in the other "
                 "directions (try t-SNE). ")
    else:
        note += ("The KL term pulls every code towards the prior, so the clusters pack around the origin instead of "
                 "drifting apart. ")
    if show_ell and linear and d >= 2:
        comps = np.eye(d)[:2] if d == 2 else am.pca().components[:2]
        r = float(np.median(projected_std(logvar[:n_used], comps)))
        if r < 0.5:
            note += (f"The σ ellipses (median σ = {r:.2f} latent units) are far smaller than the prior's unit circle: "
                     "each image pins its code down precisely (zoom in with the chart's zoom tool to see them). ")
        elif r < 0.9:
            note += (f"The σ ellipses (median σ = {r:.2f} latent units) are smaller than the prior's unit circle but "
                     "overlap a lot: the encoder is only moderately sure where each code lies. ")
        else:
            note += (f"The σ ellipses (median σ = {r:.2f} latent units) are as large as the prior's unit circle: in "
                     "these directions "
                     "the encoder is no surer than the prior — z carries little information here (posterior "
                     "collapse). ")
    st.caption(note + "Click a dot, or use the box / lasso tool (top-right of the chart) to inspect digits; "
               "click a legend entry to hide a class, double-click to show it alone.")

    # -------------------------------------------------------------------- selected points
    sel = selected_indices(event)
    st.subheader("Selected digits")
    if not sel:
        st.info("Nothing selected yet: click a dot, or drag a box or lasso around a few.")
    else:
        if len(sel) > SHOW_MAX:  # a fixed random sample, ordered by label, so a big box shows its mix
            pick = np.random.default_rng(len(sel)).choice(len(sel), SHOW_MAX, replace=False)
            shown = sorted((sel[k] for k in pick), key=lambda i: (labels[i], i))
        else:
            shown = sel
        counts = np.bincount(labels[sel], minlength=10)
        comp = ", ".join(f"{names[c]}: {k}" for c, k in enumerate(counts) if k)
        st.markdown(f"**{len(sel):,}** selected (by label — {comp})."
                    + (f" Showing {SHOW_MAX} of them, picked at random." if len(sel) > SHOW_MAX else ""))
        y = labels[shown] if am.conditional else None
        recon = am.decode(mu[shown], y)
        per_row = 3
        for s in range(0, len(shown), per_row):
            cols = st.columns(per_row)
            for col, j in zip(cols, range(s, min(s + per_row, len(shown)))):
                i = shown[j]
                orig = data.images[i].numpy().reshape(28, 28)
                col.image(to_image_cell(strip(np.stack([orig, recon[j]])), 112),
                          caption=f"test #{i} · label {names[labels[i]]} — original | decode(μ)")
        kl = rate_nats(mu[shown], logvar[shown])
        table = {"": [zname(k) for k in range(d)] + ["‖μ‖", "KL(q‖p) [nats]"]}
        for j, i in enumerate(shown):
            table[f"#{i} ({names[labels[i]]})"] = (
                [f"{mu[i, k]:+.2f} ± {sigma[i, k]:.2f}" for k in range(d)]
                + [f"{np.linalg.norm(mu[i]):.2f}", f"{kl[j]:.1f}"])
        st.markdown("**Posterior q(z|x) per dimension: μ ± σ** (latent units = prior standard deviations)")
        st.dataframe(table, hide_index=True, width="stretch", height=min(38 + 35 * (d + 2), 800))
        inactive = int(np.sum((np.abs(mu[shown]).max(0) < 0.1) & (sigma[shown].min(0) > 0.9)))
        msg = ("σ is the encoder's uncertainty: a small σ means the image pins its code down tightly. "
               "KL(q‖p) is the 'rate': how many nats this code costs against the prior.")
        if d > 2 and inactive:
            msg += (f" {inactive} of the {d} dimensions read μ ≈ 0, σ ≈ 1 for every selected digit: they are "
                    "*unused* — the KL term switched them off, so they just copy the prior.")
        st.caption(msg)

with tab_manifold:
    if d < 2:
        st.info("The manifold lattice needs a model with at least 2 latent dimensions.")
    else:
        c1, c2, c3 = st.columns(3)
        r = c1.slider("Range ±", 1.0, 4.0, RANGE_DEFAULT, step=0.5, key="lm_range",
                      help="Half-width of the square of latent codes decoded"
                           + (" (latent units)." if d == 2 else " (in standard deviations of each PCA direction)."))
        n_grid = c2.slider("Digits per side", 5, 25, N_DEFAULT, key="lm_grid",
                           help="Resolution of the lattice: n × n decoded codes. Fewer = bigger digits.")
        y_cls = None
        if am.conditional:
            y_cls = int(c3.selectbox("Decode as class", range(10), index=3, format_func=names.__getitem__,
                                     key="lm_cls", help="A CVAE decodes (z, class): same z, chosen digit."))
        if d == 2:
            plane = None
            st.caption(f"Each tile is the decoder's mean image at one lattice point: **z₁ runs from −{r:g} (left) "
                       f"to +{r:g} (right), z₂ from +{r:g} (top) to −{r:g} (bottom)** — the dotted square on the map.")
        else:
            origin, u, v = pca_plane(am.pca())
            plane = (tuple(origin), tuple(u), tuple(v))
            ev = am.pca().explained_ratio
            st.caption(
                f"A lattice needs two axes, and this model has {d}. So the lattice walks the plane of the **first two "
                f"principal directions of the posterior means** (PC1 {ev[0]:.0%}, PC2 {ev[1]:.0%} of their variance), "
                f"centred on their mean: PC1 runs from −{r:g}σ (left) to +{r:g}σ (right), PC2 from +{r:g}σ (top) to "
                f"−{r:g}σ (bottom), σ being each direction's standard deviation; the other {d - 2} coordinates stay "
                "at the mean. It is the dotted square on the PCA map.")
        img = lattice_image(am.key, am.model, r, n_grid, y_cls, plane)
        cell = max(28, round(1100 / n_grid / 28) * 28)  # rendered ≥ 1100 px wide, scaled to the page
        st.image(to_image_cell(img, cell), width="stretch",
                 caption=f"{n_grid} × {n_grid} decoded codes: about {820 // n_grid} px per digit on a 1280-px screen "
                         "(fewer digits per side = bigger digits; hover the image for full screen).")
        beta = float(am.meta.get("beta", 1.0))
        if am.conditional:
            look = ("**What to notice:** every tile shows the chosen digit — the class comes from the label, not from "
                    "z — and moving across the square changes only its style (slant, stroke width, size). ")
        else:
            look = ("**What to notice:** the digits morph smoothly into one another, and the regions of the square "
                    "decode to the classes whose dots live there on the map. ")
            if beta > 2:
                look += (f"With β = {beta:g} the KL term weighs heavily: expect fewer, blurrier prototypes — z is "
                         "allowed to carry only a little information. ")
            else:
                look += "Between the clusters the decoder still draws digit-like blends: the KL term leaves no holes. "
        look += ("Far from the centre, where the prior has little mass and no training digit was encoded, strokes "
                 "blur, repeat or freeze.")
        st.caption(look)
        st.download_button("Download the lattice (PNG)", png_bytes(img, img.shape[0] * 2),
                            file_name=f"manifold-{am.name}-r{r:g}-n{n_grid}.png", mime="image/png")
