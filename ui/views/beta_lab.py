"""The β/KL Lab's sections (Streamlit): models of a sweep evaluated on test digits (cached per model key), the
rate–distortion plane with its table and formulas, KL per dimension, latent maps, reconstructions and prior
samples per β, and the collapsed-vs-fixed panel with the two fixes' formulas next to the fixed run's numbers.
The figures are in ui.views.beta_lab_figures, the maths in vae_core.digits.analysis."""

from __future__ import annotations

import time

import numpy as np
import streamlit as st
import torch

from ui.fmt import fmt_beta
from ui.images import to_image_cell, wrap_strip
from ui.jobs_view import progress_line, show_job_end, stop_button, wait_first_reports
from ui.state import BY_MODEL_KEY, ActiveModel, add_session_model, get_data
from ui.views.beta_lab_figures import Entry, collapse_curves_figure, kl_bars_figure, rd_figure, rd_table, scatter_figure
from vae_core.digits.analysis import (
    AU_THRESHOLD,
    ModelStats,
    diagnose_collapse,
    free_bits_penalty,
    model_stats,
    rd_trajectory,
    sweep_trend,
)
from vae_core.digits.checkpoint import build_metadata, dataset_info
from vae_core.latent import decode_np

N_EVAL = 2000  # test digits used for finished / shipped models
N_LIVE = 1000  # test digits used while a model is still training
LIVE_STATS_S = 2.0  # a training model is re-evaluated on them at most this often


def _test_of(am: ActiveModel):
    """The test split a Lab model is evaluated on: its job's user data set (#19, ui.byo), else MNIST."""
    if am.key.startswith("job/"):
        from ui import byo

        ds = byo.lab_job_data(am.key.split("/")[1])
        if ds is not None:
            return byo.lab_test(ds)
    return get_data("test")


@st.cache_resource(show_spinner="Evaluating the model on test digits…", max_entries=64, hash_funcs=BY_MODEL_KEY)
def cached_stats(am: ActiveModel, n: int) -> ModelStats:
    test = _test_of(am)
    return model_stats(am.model, test.images[:n], test.labels[:n])


@st.cache_resource(show_spinner=False, max_entries=32, hash_funcs=BY_MODEL_KEY)
def live_stats(am: ActiveModel, bucket: int, n: int) -> ModelStats:  # noqa: ARG001 - bucket: cache key (time slot)
    """Stats of a model that is still training, at most once per LIVE_STATS_S seconds (leave the CPU to training)."""
    test = _test_of(am)
    return model_stats(am.model, test.images[:n], test.labels[:n])


def demo_indices(labels: np.ndarray) -> np.ndarray:
    """The first test digit of each class 0-9."""
    return np.array([int(np.flatnonzero(labels == c)[0]) for c in range(10) if (labels == c).any()])


def show_formulas(entries: list[Entry], key: str) -> None:
    """The seed's β-ELBO, its rate/distortion reading and the active-unit test, each next to a model's numbers."""
    ready = [e for e in entries if e.stats is not None]
    st.markdown("**The β-VAE objective** (the seed's β-VAE section, under *VAE variants*), per image, and what one "
                "model makes of it:")
    st.latex(r"\mathcal{L}_{\beta\text{-VAE}} = \mathbb{E}_{q_\phi(z|x)}[\log p_\theta(x|z)] - \beta \cdot "
             r"D_{KL}(q_\phi(z|x) \| p(z))")
    e = None
    if ready:
        c0, _ = st.columns([1, 2])
        names = [f"β = {fmt_beta(x.beta)}" for x in ready]
        pick = c0.selectbox("numbers of the model with", names, key=key, index=len(ready) - 1)
        e = ready[names.index(pick)]
    rows = [
        (r"-\mathcal{L}_{\beta} = \underbrace{D}_{\text{distortion}} + \beta\,\underbrace{R}_{\text{rate}}",
         lambda s, b: rf"= {s.distortion:.1f} + {fmt_beta(b)} \times {s.rate:.2f} = {s.beta_loss(b):.1f}"),
        (r"-\text{ELBO} = D + R \quad (\beta = 1)",
         lambda s, _b: rf"= {s.distortion:.1f} + {s.rate:.2f} = {s.neg_elbo:.1f}"),
        (r"\text{unit } j \text{ active} \iff \mathrm{Cov}_x\big(\mathbb{E}_{q(z|x)}[z_j]\big) > "
         + f"{AU_THRESHOLD:g}",
         lambda s, _b: rf"\text{{active units}} = {s.n_active}\ \text{{of}}\ {len(s.kl_per_dim)}"),
    ]
    for formula, numbers in rows:
        c1, c2 = st.columns([1, 1], vertical_alignment="center")
        c1.latex(formula)
        if e is not None:
            c2.latex(numbers(e.stats, e.beta))
    if e is not None:
        st.caption(f"Numbers in nats per image on the first {len(e.stats.mu):,} test digits (one z ~ q(z|x) per digit "
                   "for D).")


def show_images(entries: list[Entry], test) -> None:
    """Per β: reconstructions of one test digit of each class, and decoded samples from the prior."""
    shown = [e for e in entries if e.model is not None]
    if not shown:
        return
    labels = test.labels.numpy()
    idx = demo_indices(labels)
    x = test.images[idx]
    shape = getattr(shown[0].model, "image_shape", None) or (28, 28)  # a user's data set's H×W (#19)
    ratio = [1.1, 2, 2]
    h0, h1, h2 = st.columns(ratio)
    h0.markdown("**model**")
    h1.markdown("**Test digits → reconstructions** (decoder at the posterior mean)")
    h1.image(to_image_cell(wrap_strip(x.numpy().reshape(len(x), *shape), 5), 56))
    h2.markdown("**Samples from the prior** z ~ N(0, I) (the same z for every model)")
    d = shown[0].model.latent_dim
    zs = torch.randn(10, d, generator=torch.Generator().manual_seed(7)).numpy()
    for e in shown:
        c0, c1, c2 = st.columns(ratio, vertical_alignment="center")
        with torch.inference_mode():  # a read-only look; nothing here is trained
            mu, _ = e.model.encode(x)
        c0.markdown(f"**β = {fmt_beta(e.beta)}**" + ("  \n*still training*" if e.live else ""))
        if e.stats is not None:
            c0.caption(f"D {e.stats.distortion:.0f} · R {e.stats.rate:.1f} nats")
        c1.image(to_image_cell(wrap_strip(decode_np(e.model, mu.numpy()), 5), 56))
        z = zs if e.model.latent_dim == d else torch.randn(10, e.model.latent_dim).numpy()
        c2.image(to_image_cell(wrap_strip(decode_np(e.model, z), 5), 56))


def show_sweep_plane(entries: list[Entry], key: str) -> None:
    """The R-D plane, the numbers table with the formulas, and the per-dimension KL bars."""
    ready = [e for e in entries if e.stats is not None]
    st.markdown("#### The rate–distortion plane")
    st.plotly_chart(rd_figure(entries), width="stretch", key=f"{key}_rd")
    st.caption(
        "Each model is one point: its **rate** (the KL term, an upper bound on the nats of information its codes "
        "carry about x; Alemi et al. 2018) against how badly it "
        "reconstructs (**distortion**). A β-VAE minimises D + β·R, so a larger β buys a smaller rate with a larger "
        "distortion: the points slide **up and to the left** as β grows. Dotted lines join points of equal ELBO "
        "(D + R = const, slope −1): moving along one costs nothing in ELBO — the ELBO alone cannot tell these "
        "models apart (Alemi et al. 2018, *Fixing a Broken ELBO*). Lines are training batches (smoothed); big dots "
        "are test digits.")
    if len(ready) >= 3:
        tr = sweep_trend([e.beta for e in ready], [e.stats.rate for e in ready], [e.stats.distortion for e in ready])
        if tr["rate_falls"] and tr["distortion_rises"]:
            st.success("On these models the rate falls and the distortion rises at every step up in β.")
        elif any(e.live for e in ready):
            st.info("Still training: the ordering by β settles as the models converge.")
        else:
            st.info("Not strictly ordered by β here (short training or a small subset adds noise).")
    if ready:
        st.dataframe(rd_table(entries), hide_index=True, width="stretch")
        show_formulas(entries, key=f"{key}_formula_pick")
        st.markdown("#### KL per latent dimension and active units")
        st.plotly_chart(kl_bars_figure(entries), width="stretch", key=f"{key}_kl")
        st.caption(
            "Bar j is the average KL(q(z_j|x) ‖ N(0, 1)) over test digits: an upper bound on the nats dimension j "
            "carries. Grey bars "
            f"are **inactive units** (Burda et al. 2016: Cov_x E_q[z_j] ≤ {AU_THRESHOLD:g}) — the encoder outputs "
            "the prior there whatever the digit, so the decoder cannot use it. A larger β switches more units off.")


def show_sweep_views(entries: list[Entry], test, key: str) -> None:
    """Latent maps, reconstructions and prior samples of each model, side by side."""
    ready = [e for e in entries if e.stats is not None]
    if ready:
        st.markdown("#### Latent maps")
        st.plotly_chart(scatter_figure(entries, test.labels.numpy()), width="stretch", key=f"{key}_scatter")
        st.caption(
            "Posterior means of 1,000 test digits, coloured by label (the model never saw labels); dashed: 2σ of the "
            "prior. As β grows the points **crowd towards the origin** and classes overlap — the KL term pulls every "
            "q(z|x) towards N(0, I). With β = 0 nothing holds the codes near the prior at all."
            + ("" if len(ready[0].stats.kl_per_dim) <= 2 else " (d > 2: each map is that model's own PCA.)"))
        st.markdown("#### Reconstructions and prior samples")
        show_images(entries, test)
        st.caption(
            "Small β: sharp reconstructions, but prior samples can land where no digit was encoded (β = 0 is a "
            "plain autoencoder). Large β: **reconstructions blur** into average-looking digits, while prior samples "
            "look like the reconstructions — the codes fill the prior.")


# ------------------------------------------------------------------ page


def job_entries(snap: dict, n_live: int) -> list[Entry]:
    out = []
    from ui import byo

    ds = byo.lab_job_data(snap["id"])  # a sweep on a user's data set (#19): its models draw H×W images
    for m in snap["members"]:
        final, live = m["model"], m["live_model"]
        for mod in (final, live):
            if ds is not None and mod is not None:
                mod.image_shape = tuple(ds["image_shape"])
        key = f"job/{snap['id']}/{m['label']}"
        reps = [r for r in m["reports"] if r.kind == "step"]
        if final is not None:
            stats, model, is_live = cached_stats(ActiveModel(key, m["label"], final), N_EVAL), final, False
        elif live is not None and m["reports"]:
            bucket = int(time.monotonic() // LIVE_STATS_S)  # both live fragments share one evaluation per bucket
            stats, model, is_live = live_stats(ActiveModel(key, m["label"], live), bucket, n_live), live, True
        else:
            stats, model, is_live = None, None, snap["status"] in ("queued", "running")
        out.append(Entry(m["label"], m["config"].beta, model, stats, rd_trajectory(reps) if reps else None, is_live))
    return out


def collapse_panel(entries: list[Entry], snap: dict | None) -> None:
    """Collapsed run vs fixed run side by side: active units, diagnosis, per-dimension KL, KL and weight curves."""
    fixed_cfg = snap["members"][1]["config"] if snap else None
    ready = [e for e in entries if e.stats is not None]
    if not ready:
        return
    cols = st.columns(len(ready))
    for c, e in zip(cols, ready, strict=True):
        dg = diagnose_collapse(e.stats.kl_per_dim, e.stats.mu)
        c.markdown(f"**{e.label}**" + (" *(still training)*" if e.live else ""))
        m1, m2, m3 = c.columns(3)
        m1.metric("active units", f"{dg.n_active}/{dg.n_dims}",
                  help=f"dimensions with Cov_x E_q[z_j] > {AU_THRESHOLD:g} on {len(e.stats.mu):,} test digits")
        m2.metric("KL (rate), nats", f"{dg.rate:.2f}")
        m3.metric("distortion, nats", f"{e.stats.distortion:.1f}")
        {"collapsed": c.warning, "partial": c.info, "healthy": c.success}[dg.verdict](dg.message)
    lam = fixed_cfg.free_bits if fixed_cfg is not None and fixed_cfg.free_bits > 0 else None
    st.plotly_chart(kl_bars_figure(ready, lam=lam, height=300), width="stretch", key="collapse_kl")
    st.caption("KL per latent dimension on test digits, before (left) and after (right) the fix. Grey = inactive unit."
               + (" Red dashed line: the free-bits floor λ — each dimension may spend λ nats for free, so the fixed "
                  "model keeps its dimensions at or above it." if lam else ""))
    if snap is not None:
        st.plotly_chart(collapse_curves_figure(snap["members"]), width="stretch", key="collapse_curve")
        st.caption("Solid: the KL of training batches as the runs progress; dotted: the KL weight each run uses "
                   "(right axis). Watch the collapsed run's KL sink towards 0 while the fixed run keeps some.")


def fix_formulas(snap: dict | None, entries: list[Entry]) -> None:
    """The seed's two fixes as formulas, each next to the number the fixed run produces."""
    fixed_cfg = snap["members"][1]["config"] if snap else None
    fixed = entries[1] if len(entries) > 1 and entries[1].stats is not None else None
    lam = fixed_cfg.free_bits if fixed_cfg is not None and fixed_cfg.free_bits > 0 else None
    c1, c2 = st.columns(2, gap="large")
    with c1:
        st.markdown("**Fix 1 — KL annealing:** grow the KL weight gradually")
        st.latex(r"\beta_t = \beta \cdot \min\!\Big(1, \frac{t}{T}\Big)\ \ \text{(linear)}")
        st.latex(r"\beta_t = \beta \cdot \min\!\Big(1, \frac{t \bmod T}{T/2}\Big)\ \ \text{(cyclical)}")
        if fixed_cfg is not None and fixed_cfg.kl_schedule != "constant":
            reps = snap["members"][1]["reports"]
            t = reps[-1].step if reps else 0
            w = reps[-1].kl_weight if reps else 0.0
            st.latex(rf"t = {t},\ T = {fixed_cfg.warmup_steps},\ \beta = {fmt_beta(fixed_cfg.beta)}"
                     rf"\ \Rightarrow\ \beta_t = {w:.3g}")
            st.caption("The weight of the fixed run at its last report. Annealing lets the decoder learn to use z "
                       "before the KL term bites; against a β this large it delays the collapse more than it prevents "
                       "it. That is an optimisation effect: the collapsed code is not the optimum at β = 16 (see "
                       "*Is the collapsed code the optimum?* above).")
        else:
            st.caption("Annealing is off in this run." if snap else "The fixed run's weight appears here.")
    with c2:
        st.markdown("**Fix 2 — free bits:** each dimension's first λ nats cost nothing")
        st.latex(r"\text{KL term} = \sum_{j=1}^{d} \max(\lambda,\ KL_j)")
        st.latex(r"KL_j = \mathbb{E}_x\, D_{KL}(q(z_j|x) \| p(z_j))")
        if fixed is not None and lam:
            k = fixed.stats.kl_per_dim
            st.latex(rf"\lambda = {lam:g}:\ \sum_j \max(\lambda, KL_j) = {free_bits_penalty(k, lam):.2f}")
            st.latex(rf"\text{{plain KL}} = \sum_j KL_j = {k.sum():.2f}\ \text{{nats}}")
            st.caption("Below λ a dimension's KL gets no gradient pushing it to zero, so the model may as well use "
                       "it: the free-bits run keeps every dimension near or above λ and its codes carry information.")
        else:
            st.caption("Free bits are off in this run." if snap else "The fixed run's numbers appear here.")


def use_models_button(snap: dict) -> None:
    """Register a finished sweep's models in this session, so that every page can use them."""
    if st.button("Use these models on the other pages", key="lab_use"):
        for m in snap["members"]:
            if m["model"] is not None:
                name = f"lab-{snap['id']}-beta{fmt_beta(m['config'].beta)}"
                from ui import byo

                ds = byo.lab_job_data(snap["id"])
                dataset = (dataset_info(name="mnist", description=snap["data"], n_train=snap["n_train"])
                           if ds is None else dict(ds, n_train=snap["n_train"]))
                add_session_model(name, m["model"], build_metadata(
                    m["config"], m["result"], name=name, test_metrics=m["test_metrics"], dataset=dataset))
        st.toast("Added to the sidebar's model list (this session).")


def _job_status(job, stop_key: str) -> tuple[dict, list[Entry]]:
    """The top of a live job view: progress, the stop button, the end message; the snapshot and its entries."""
    wait_first_reports(job)
    snap = job.snapshot()
    progress_line(snap)
    stop_button(job, stop_key)
    show_job_end(snap)
    return snap, job_entries(snap, N_LIVE)


def live_sweep(job) -> None:
    """Progress, stop, the R-D plane, numbers and KL bars: cheap, redrawn every second while training."""
    if job is None:
        st.info("No sweep trained in this session yet: pick β values and press **Train the sweep**.")
        return
    snap, entries = _job_status(job, "lab_stop")
    if not any(e.traj is not None or e.stats is not None for e in entries):
        st.info("Starting: the first points appear within a second or two.")
        return
    show_sweep_plane(entries, "lab")
    if not job.active and snap["status"] in ("done", "stopped"):
        use_models_button(snap)


def live_collapse(job) -> None:
    if job is None:
        st.info("Press **Train collapsed vs fixed** to train the preset twice side by side: once as it is "
                "(it collapses) and once with the fixes you switched on. Takes a few seconds.")
        fix_formulas(None, [])
        return
    snap, entries = _job_status(job, "col_stop")
    for e, m in zip(entries, snap["members"], strict=True):
        e.title = m["label"].split(":")[0] + " run"
    collapse_panel(entries, snap)
    fix_formulas(snap, entries)
