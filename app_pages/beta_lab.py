"""β/KL Lab: what the KL weight β does to a VAE (seed §VAE变体 β-VAE) and how a too-heavy KL term makes the
posterior collapse, then the seed's two fixes, KL annealing and free bits (§后验坍缩问题).

Two tabs: a β sweep (the shipped z = 2 sweep, evaluated instantly, or a sweep trained here in the background,
live) drawn in the rate–distortion plane (Alemi et al. 2018) with per-dimension KL, active units, latent maps,
reconstructions and prior samples per β; and a collapsed-vs-fixed pair trained side by side.
All maths is in vae_core.analysis; this page lays out widgets and draws.

session_state keys: lab_job / collapse_job (job ids of this session's trainings), lab_shipped_stats
(β -> (rate, distortion, n_active) of the shipped sweep, for tests).
"""

from __future__ import annotations

import math
import time

import numpy as np
import streamlit as st
import torch

from ui.fmt import fmt_beta
from ui.images import to_image_cell, wrap_strip
from ui.jobs_view import progress_line, show_job_end, wait_first_reports
from ui.lab_figures import (
    Entry,
    collapse_curves_figure,
    kl_bars_figure,
    kl_weight_figure,
    rd_figure,
    rd_table,
    scatter_figure,
)
from ui.state import BY_MODEL_KEY, ActiveModel, add_session_model, get_data, get_model, session_id
from vae_core import CheckpointError, DataUnavailable
from vae_core.analysis import (
    AU_THRESHOLD,
    COLLAPSE_BETA,
    COLLAPSE_FREE_BITS,
    COLLAPSE_LATENT,
    COLLAPSE_WARMUP_FRACTION,
    LAB_BETAS,
    LAB_EPOCHS,
    LAB_HIDDEN,
    LAB_LOG_EVERY,
    ModelStats,
    diagnose_collapse,
    free_bits_penalty,
    kl_weight_curve,
    model_stats,
    rd_trajectory,
    sweep_trend,
)
from vae_core.checkpoints import build_metadata, dataset_info
from vae_core.jobs import CapacityError, get_manager
from vae_core.latent import decode_np
from vae_core.train import TrainConfig

SHIPPED_SWEEP = ["mnist-z2-beta0.5", "mnist-z2", "mnist-z2-beta4", "mnist-z2-beta16"]
N_EVAL = 2000  # test digits used for finished / shipped models
N_LIVE = 1000  # test digits used while a model is still training
LIVE_STATS_S = 2.0  # a training model is re-evaluated on them at most this often
BETA_CHOICES = [0.0, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0]
SUBSETS = [1_000, 2_000, 5_000, 10_000, 20_000, 60_000]
POLL_S = 1.0  # the R-D plane and KL bars while training
VIEWS_POLL_S = 3.0  # latent maps, reconstructions and samples while training


# ------------------------------------------------------------------ cached evaluation
@st.cache_resource(show_spinner="Evaluating the model on test digits…", max_entries=64, hash_funcs=BY_MODEL_KEY)
def cached_stats(am: ActiveModel, n: int) -> ModelStats:
    test = get_data("test")
    return model_stats(am.model, test.images[:n], test.labels[:n])


@st.cache_resource(show_spinner=False, max_entries=32, hash_funcs=BY_MODEL_KEY)
def live_stats(am: ActiveModel, bucket: int, n: int) -> ModelStats:
    """Stats of a model that is still training, at most once per LIVE_STATS_S seconds (leave the CPU to training)."""
    test = get_data("test")
    return model_stats(am.model, test.images[:n], test.labels[:n])


@st.cache_resource(show_spinner=False, max_entries=8)
def train_subset(n: int):
    return get_data("train").subset(n, seed=0)


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
         lambda s, b: rf"= {s.distortion:.1f} + {s.rate:.2f} = {s.neg_elbo:.1f}"),
        (r"\text{unit } j \text{ active} \iff \mathrm{Cov}_x\big(\mathbb{E}_{q(z|x)}[z_j]\big) > "
         + f"{AU_THRESHOLD:g}",
         lambda s, b: rf"\text{{active units}} = {s.n_active}\ \text{{of}}\ {len(s.kl_per_dim)}"),
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
    ratio = [1.1, 2, 2]
    h0, h1, h2 = st.columns(ratio)
    h0.markdown("**model**")
    h1.markdown("**Test digits → reconstructions** (decoder at the posterior mean)")
    h1.image(to_image_cell(wrap_strip(x.numpy(), 5), 56))
    h2.markdown("**Samples from the prior** z ~ N(0, I) (the same z for every model)")
    d = shown[0].model.latent_dim
    zs = torch.randn(10, d, generator=torch.Generator().manual_seed(7)).numpy()
    for e in shown:
        c0, c1, c2 = st.columns(ratio, vertical_alignment="center")
        with torch.no_grad():
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
        "Each model is one point: how many nats its codes carry (**rate**, the KL term) against how badly it "
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
            "Bar j is the average KL(q(z_j|x) ‖ N(0, 1)) over test digits: the nats dimension j carries. Grey bars "
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
st.title("β/KL Lab")
st.caption(
    "How much should the code say? The β-VAE (seed: *VAE variants*) weighs the KL term by β: β < 1 favours "
    "reconstruction, β > 1 pushes every q(z|x) towards the prior. Compare a sweep of β, then cause posterior "
    "collapse and fix it with the seed's two remedies.")

try:
    test = get_data("test")
except DataUnavailable as exc:
    st.error(str(exc))
    st.stop()
manager = get_manager()
sid = session_id()


def submit_job(state_key: str, title: str, subset: int, make_configs) -> None:
    """Start a background job training ``make_configs(train_data)`` ([(label, TrainConfig), ...]) in lockstep on
    a training subset; its id goes to session_state[state_key]. A full server or bad input is said plainly."""
    try:
        data = train_subset(subset)
        job = manager.submit(title, make_configs(data), data.images, data.labels, owner=sid,
                             data_description=f"{len(data):,} training digits",
                             test_images=test.images, test_labels=test.labels, kind=state_key)
        st.session_state[state_key] = job.id
    except CapacityError as exc:
        st.warning(f"**Server busy.** {exc}")
    except (ValueError, DataUnavailable) as exc:
        st.error(f"Cannot start: {exc}")

tab_sweep, tab_collapse = st.tabs(["β sweep: rate vs distortion", "Posterior collapse: cause and fixes"])


def job_entries(snap: dict, n_live: int) -> list[Entry]:
    out = []
    for m in snap["members"]:
        final, live = m["model"], m["live_model"]
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


# ------------------------------------------------------------------ tab 1: the β sweep
with tab_sweep:
    source = st.radio("Models", ["Shipped sweep (loads instantly)", "Train a sweep here"], horizontal=True,
                      key="lab_source",
                      help="The shipped sweep: four z = 2 models trained for 60 epochs on all 60k digits with "
                           "β = 0.5, 1, 4, 16. Training here: pick your own β values; the plots update live.")
    if source.startswith("Shipped"):
        entries: list[Entry] = []
        for name in SHIPPED_SWEEP:
            try:
                am = get_model(f"shipped/{name}")
            except (CheckpointError, FileNotFoundError, KeyError):
                continue
            stats = cached_stats(am, N_EVAL)
            entries.append(Entry(name, float(am.meta.get("beta", 1.0)), am.model, stats, None))
        if not entries:
            st.warning("The shipped β sweep is not on this server; train a sweep here instead.")
        else:
            entries.sort(key=lambda e: e.beta)
            st.session_state["lab_shipped_stats"] = {e.beta: (e.stats.rate, e.stats.distortion, e.stats.n_active)
                                                     for e in entries}
            st.caption(f"Shipped models {', '.join(e.label for e in entries)}: 784-512-256-2 MLPs, 60 epochs on all "
                       f"60,000 training digits; evaluated here on the first {N_EVAL:,} test digits.")
            show_sweep_plane(entries, "shipped")
            show_sweep_views(entries, test, "shipped")
    else:
        try:  # load the training split now, so that pressing the button starts training at once
            train_subset(10_000)
        except DataUnavailable as exc:
            st.error(str(exc))
            st.stop()
        with st.form("lab_form"):
            c1, c2, c3 = st.columns([2, 1, 1])
            betas = c1.multiselect("β values", BETA_CHOICES, default=list(LAB_BETAS), key="lab_betas",
                                   format_func=fmt_beta, max_selections=6,
                                   help="Each β trains its own model; all of them advance in lockstep.")
            c1.caption(f"Architecture 784-{'-'.join(map(str, LAB_HIDDEN))}-z (the decoder mirrors it), batch 128, "
                       "Adam 1e-3: about 0.2 s per model and epoch on 10k digits on an idle 2-core CPU "
                       "(`bench/lab_epoch.py`).")
            latent = c2.selectbox("latent size", [2, 5, 10, 20], index=0, key="lab_latent",
                                  help="2 shows the codes directly; larger sizes are drawn through PCA.")
            epochs = c2.number_input("epochs", 1, 50, LAB_EPOCHS, key="lab_epochs")
            subset = c3.select_slider("training subset", SUBSETS, value=10_000, key="lab_subset",
                                      format_func=lambda n: f"{n:,}")
            start = st.form_submit_button("Train the sweep", type="primary", key="lab_start")
        if start:
            if not betas:
                st.warning("Pick at least one β.")
            else:
                submit_job("lab_job", f"β sweep, z = {latent}", int(subset), lambda data: [
                    (f"β={fmt_beta(b)}", TrainConfig(latent_dim=int(latent), hidden_dims=LAB_HIDDEN, beta=float(b),
                                                     epochs=int(epochs), log_every=LAB_LOG_EVERY, seed=0))
                    for b in sorted(betas)])

        lab_job = manager.get(st.session_state.get("lab_job"))
        lab_polling = lab_job is not None and lab_job.active

        @st.fragment(run_every=POLL_S if lab_polling else None)
        def live_sweep(polling: bool = lab_polling) -> None:
            """Progress, stop, the R-D plane, numbers and KL bars: cheap, redrawn every second while training."""
            job = manager.get(st.session_state.get("lab_job"))
            if job is None:
                st.info("No sweep trained in this session yet: pick β values and press **Train the sweep**.")
                return
            wait_first_reports(job)
            snap = job.snapshot()
            progress_line(snap)
            if job.active:
                if st.button("Stop training", key="lab_stop", icon=":material/stop:"):
                    job.stop()
                    st.toast("Stopping after the current step…")
            show_job_end(snap)
            entries = job_entries(snap, N_LIVE)
            if not any(e.traj is not None or e.stats is not None for e in entries):
                st.info("Starting: the first points appear within a second or two.")
            else:
                show_sweep_plane(entries, "lab")
                if not job.active and snap["status"] in ("done", "stopped"):
                    if st.button("Use these models on the other pages", key="lab_use"):
                        for m in snap["members"]:
                            if m["model"] is not None:
                                name = f"lab-{snap['id']}-beta{fmt_beta(m['config'].beta)}"
                                add_session_model(name, m["model"], build_metadata(
                                    m["config"], m["result"], name=name, test_metrics=m["test_metrics"],
                                    dataset=dataset_info(name="mnist", description=snap["data"],
                                                         n_train=snap["n_train"])))
                        st.toast("Added to the sidebar's model list (this session).")
            if polling and not job.active:
                st.rerun()  # the job ended: one full rerun stops the polling (and redraws the views below)

        @st.fragment(run_every=VIEWS_POLL_S if lab_polling else None)
        def live_views() -> None:
            """Latent maps, reconstructions and prior samples: heavier, redrawn every few seconds while training."""
            job = manager.get(st.session_state.get("lab_job"))
            if job is None:
                return
            entries = job_entries(job.snapshot(), N_LIVE)
            if any(e.model is not None and e.stats is not None for e in entries):
                show_sweep_views(entries, test, "lab")

        live_sweep()
        live_views()
        st.caption(f"Server: {len(manager.running())} of {manager.max_running} training slots in use. Training "
                   "runs in the background — other pages stay usable, and you can come back later.")


# ------------------------------------------------------------------ tab 2: posterior collapse
def collapse_panel(entries: list[Entry], snap: dict | None) -> None:
    """Collapsed run vs fixed run side by side: active units, diagnosis, per-dimension KL, KL and weight curves."""
    fixed_cfg = snap["members"][1]["config"] if snap else None
    ready = [e for e in entries if e.stats is not None]
    if not ready:
        return
    cols = st.columns(len(ready))
    for c, e in zip(cols, ready):
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
                       "it — the collapsed code is still the optimum of the objective at full β.")
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


with tab_collapse:
    st.markdown(
        "**Posterior collapse** (seed: *the posterior-collapse problem*): the KL term goes to 0, q(z|x) ≈ p(z), and "
        "the model ignores its latent variable. The seed names two causes — a decoder that is too strong, or **a KL "
        "weight that is too high** (the one this preset uses) — and two fixes: **KL annealing** (raise the KL weight "
        "gradually) and **free bits** (allow every latent dimension a minimum KL).")
    try:
        z20 = get_model("shipped/mnist-z20")
        s20 = cached_stats(z20, N_EVAL)
        dg20 = diagnose_collapse(s20.kl_per_dim, s20.mu)
        with st.expander(f"Partial collapse already happens at β = 1: the shipped mnist-z20 uses {dg20.n_active} of "
                         "its 20 dimensions", expanded=False):
            st.plotly_chart(kl_bars_figure([Entry("mnist-z20", 1.0, z20.model, s20, None,
                                                  title="shipped mnist-z20, β = 1")], height=240),
                            width="stretch", key="collapse_z20")
            st.caption(f"KL per dimension on {N_EVAL:,} test digits ({dg20.rate:.1f} nats in all). The grey "
                       "dimensions carry almost nothing: the model found it cheaper to leave them at the prior.")
    except (CheckpointError, FileNotFoundError, KeyError):
        pass
    with st.form("collapse_form"):
        c1, c2, c3 = st.columns(3)
        c1.markdown(f"**The collapsing preset:** z = {COLLAPSE_LATENT}, architecture "
                    f"784-{'-'.join(map(str, LAB_HIDDEN))}-z")
        cbeta = c1.number_input("β (KL weight)", 1.0, 64.0, float(COLLAPSE_BETA), step=1.0, key="col_beta",
                                help="The preset's too-heavy KL weight; both runs use it.")
        cepochs = c1.number_input("epochs", 1, 20, 3, key="col_epochs")
        csubset = c1.select_slider("training subset", SUBSETS, value=10_000, key="col_subset",
                                   format_func=lambda n: f"{n:,}")
        anneal = c2.toggle("Fix 1: KL annealing", value=False, key="col_anneal")
        kind = c2.radio("schedule", ["linear", "cyclical"], horizontal=True, key="col_kind",
                        help="linear: warm β up from 0 once; cyclical: repeat the warm-up every T steps")
        frac = c2.slider("warm-up T as a share of all steps", 0.1, 1.0, float(COLLAPSE_WARMUP_FRACTION), 0.05,
                         key="col_frac")
        fb = c3.toggle("Fix 2: free bits", value=True, key="col_fb")
        lam_in = c3.slider("λ (nats per dimension)", 0.1, 2.0, float(COLLAPSE_FREE_BITS), 0.1, key="col_lam")
        go_col = st.form_submit_button("Train collapsed vs fixed, side by side", type="primary", key="col_start")
    if go_col:
        if not (anneal or fb):
            st.warning("Turn on at least one fix: otherwise both runs are the same.")
        else:
            def collapse_configs(data) -> list:
                total = math.ceil(len(data) / min(128, len(data))) * int(cepochs)
                base = dict(latent_dim=COLLAPSE_LATENT, hidden_dims=LAB_HIDDEN, beta=float(cbeta),
                            epochs=int(cepochs), log_every=LAB_LOG_EVERY, seed=0)
                fixes = {}
                if anneal:
                    fixes.update(kl_schedule=kind, warmup_steps=max(1, int(frac * total)))
                if fb:
                    fixes["free_bits"] = float(lam_in)
                what = " + ".join(([f"{kind} annealing"] if anneal else [])
                                  + ([f"free bits λ={lam_in:g}"] if fb else []))
                return [(f"collapsed: β = {cbeta:g}, no fix", TrainConfig(**base)),
                        (f"fixed: {what}", TrainConfig(**base, **fixes))]

            submit_job("collapse_job", f"collapse β = {cbeta:g}, z = {COLLAPSE_LATENT}", int(csubset),
                       collapse_configs)

    if anneal:
        steps_hint = math.ceil(int(csubset) / 128) * int(cepochs)
        xs, ws = kl_weight_curve(kind, float(cbeta), max(1, int(frac * steps_hint)), steps_hint)
        st.plotly_chart(kl_weight_figure(xs, ws), width="stretch", key="col_weight_preview")

    col_job = manager.get(st.session_state.get("collapse_job"))

    @st.fragment(run_every=POLL_S if col_job is not None and col_job.active else None)
    def live_collapse(polling: bool = col_job is not None and col_job.active) -> None:
        job = manager.get(st.session_state.get("collapse_job"))
        if job is None:
            st.info("Press **Train collapsed vs fixed** to train the preset twice side by side: once as it is "
                    "(it collapses) and once with the fixes you switched on. Takes a few seconds.")
            fix_formulas(None, [])
            return
        wait_first_reports(job)
        snap = job.snapshot()
        progress_line(snap)
        if job.active and st.button("Stop training", key="col_stop", icon=":material/stop:"):
            job.stop()
        show_job_end(snap)
        entries = job_entries(snap, N_LIVE)
        for e, m in zip(entries, snap["members"]):
            e.title = m["label"].split(":")[0] + " run"
        collapse_panel(entries, snap)
        fix_formulas(snap, entries)
        if polling and not job.active:
            st.rerun()

    live_collapse()
