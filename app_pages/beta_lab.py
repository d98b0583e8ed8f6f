"""β/KL Lab: what the KL weight β does to a VAE (seed §VAE变体 β-VAE) and how a too-heavy KL term makes the
posterior collapse, then the seed's two fixes, KL annealing and free bits (§后验坍缩问题).

Two tabs: a β sweep (the shipped z = 2 sweep, evaluated instantly, or a sweep trained here in the background,
live) drawn in the rate–distortion plane (Alemi et al. 2018) with per-dimension KL, active units, latent maps,
reconstructions and prior samples per β; and a collapsed-vs-fixed pair trained side by side.
All maths is in vae_core.digits.analysis; this page lays out widgets and draws.
The sections are drawn by ui.views.beta_lab, the figures by ui.views.beta_lab_figures; the trainings'
configurations come from ui.compute.beta_lab. session_state: lab_job / collapse_job (job ids of this session's
trainings).
"""

from __future__ import annotations

import streamlit as st

from ui import byo
from ui.compute.beta_lab import collapse_configs, planned_steps, sweep_configs
from ui.fmt import fmt_beta
from ui.jobs_view import job_fragment, slots_caption
from ui.state import get_data, get_model, session_id
from ui.truth_views import collapse_optimum_section
from ui.views.beta_lab import (
    N_EVAL,
    N_LIVE,
    cached_stats,
    job_entries,
    live_collapse,
    live_sweep,
    show_sweep_plane,
    show_sweep_views,
)
from ui.views.beta_lab_figures import Entry, kl_bars_figure, kl_weight_figure
from ui.views.beta_lab_quality import show_shipped_fid
from vae_core import CheckpointError, DataUnavailable
from vae_core.digits.analysis import (
    COLLAPSE_BETA,
    COLLAPSE_FREE_BITS,
    COLLAPSE_LATENT,
    COLLAPSE_WARMUP_FRACTION,
    LAB_BETAS,
    LAB_EPOCHS,
    LAB_HIDDEN,
    diagnose_collapse,
    kl_weight_curve,
)
from vae_core.jobs import CapacityError, DataSpec, get_manager

SHIPPED_SWEEP = ["mnist-z2-beta0.5", "mnist-z2", "mnist-z2-beta4", "mnist-z2-beta16"]
BETA_CHOICES = [0.0, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0]
SUBSETS = [1_000, 2_000, 5_000, 10_000, 20_000, 60_000]
POLL_S = 1.0  # the R-D plane and KL bars while training
VIEWS_POLL_S = 3.0  # latent maps, reconstructions and samples while training


def submit_job(manager, state_key: str, title: str, subset: int, make_configs, user_data: dict | None = None) -> None:
    """Start a background job training ``make_configs(train_data)`` ([(label, TrainConfig), ...]) in lockstep on
    a training subset (or on all of a user's data set, ``user_data``: its checkpoint entry, #19); its id goes to
    session_state[state_key]. A full server or bad input is said plainly."""
    try:  # the worker loads the training subset itself; live_weights: the live views draw the models in training
        if user_data is None:
            data, what = DataSpec("mnist", subset, seed=0), f"{subset:,} training digits"
        else:
            data, what = byo.lab_spec(user_data), f"your data set {user_data.get('file', '')}"
        job = manager.submit(title, make_configs(None), owner=session_id(), data=data,
                             data_description=what, kind=state_key, live_weights=True)
        if user_data is not None:
            st.session_state.setdefault(byo.LAB_KEY, {})[job.id] = user_data
        st.session_state[state_key] = job.id
    except CapacityError as exc:
        st.warning(f"**Server busy.** {exc}")
    except (ValueError, DataUnavailable) as exc:
        st.error(f"Cannot start: {exc}")


def shipped_sweep(test) -> None:
    entries: list[Entry] = []
    for name in SHIPPED_SWEEP:
        try:
            am = get_model(f"shipped/{name}")
        except (CheckpointError, FileNotFoundError, KeyError):
            continue
        entries.append(Entry(name, float(am.meta.get("beta", 1.0)), am.model, cached_stats(am, N_EVAL), None))
    if not entries:
        st.warning("The shipped β sweep is not on this server; train a sweep here instead.")
        return
    entries.sort(key=lambda e: e.beta)
    st.caption(f"Shipped models {', '.join(e.label for e in entries)}: 784-512-256-2 MLPs, 60 epochs on all "
               f"60,000 training digits; evaluated here on the first {N_EVAL:,} test digits.")
    show_sweep_plane(entries, "shipped")
    show_shipped_fid([e.label for e in entries])
    show_sweep_views(entries, test, "shipped")


def live_views(test):
    def draw(job) -> None:
        """Latent maps, reconstructions and prior samples: heavier, redrawn every few seconds while training."""
        if job is None:
            return
        entries = job_entries(job.snapshot(), N_LIVE)
        ds = byo.lab_job_data(job.id)  # a sweep on a user's data set (#19) is shown on its own test split
        if any(e.model is not None and e.stats is not None for e in entries):
            show_sweep_views(entries, test if ds is None else byo.lab_test(ds), "lab")
    return draw


def trained_sweep(manager, test) -> None:
    user_data = byo.lab_data_choice()  # the sidebar model's own data set, when it is a user's (#19)
    with st.form("lab_form"):
        c1, c2, c3 = st.columns([2, 1, 1])
        betas = c1.multiselect("β values", BETA_CHOICES, default=list(LAB_BETAS), key="lab_betas",
                               format_func=fmt_beta, max_selections=6,
                               help="Each β trains its own model; all of them advance in lockstep.")
        n_in = 784 if user_data is None else user_data["image_shape"][0] * user_data["image_shape"][1]
        c1.caption(f"Architecture {n_in}-{'-'.join(map(str, LAB_HIDDEN))}-z (the decoder mirrors it), batch 128, "
                   "Adam 1e-3. Speed: `python -m bench.lab_epoch` measured 0.18 s per model and epoch on 10k digits "
                   "on the project's idle 2-core CPU; the progress bar below shows this server's own pace.")
        latent = c2.selectbox("latent size", [2, 5, 10, 20], index=0, key="lab_latent",
                              help="2 shows the codes directly; larger sizes are drawn through PCA.")
        epochs = c2.number_input("epochs", 1, 50, LAB_EPOCHS, key="lab_epochs")
        subset = c3.select_slider("training subset", SUBSETS, value=10_000, key="lab_subset",
                                  format_func=lambda n: f"{n:,}", disabled=user_data is not None,
                                  help=None if user_data is None else "your data set: all its training images")
        start = st.form_submit_button("Train the sweep", type="primary", key="lab_start")
    if start:
        if not betas:
            st.warning("Pick at least one β.")
        else:
            submit_job(manager, "lab_job", f"β sweep, z = {latent}", int(subset),
                       lambda _data: sweep_configs(betas, int(latent), int(epochs)), user_data)
    job_fragment(manager, "lab_job", live_sweep, POLL_S)
    job_fragment(manager, "lab_job", live_views(test), VIEWS_POLL_S, rerun_at_end=False)
    slots_caption(manager, " Training runs in the background — other pages stay usable, and you can come back "
                           "later.")


def sweep_tab(manager, test) -> None:
    source = st.radio("Models", ["Shipped sweep (loads instantly)", "Train a sweep here"], horizontal=True,
                      key="lab_source",
                      help="The shipped sweep: four z = 2 models trained for 60 epochs on all 60k digits with "
                           "β = 0.5, 1, 4, 16. Training here: pick your own β values; the plots update live.")
    if source.startswith("Shipped"):
        shipped_sweep(test)
    else:
        trained_sweep(manager, test)


def collapse_tab(manager, test) -> None:
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
    collapse_optimum_section(get_model, test)
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
        try:
            configs = collapse_configs(int(csubset), int(cepochs), float(cbeta), kind if anneal else None, float(frac),
                                       float(lam_in) if fb else None)
        except ValueError as exc:
            st.warning(f"{str(exc).capitalize()}.")
        else:
            submit_job(manager, "collapse_job", f"collapse β = {cbeta:g}, z = {COLLAPSE_LATENT}", int(csubset),
                       lambda _data: configs)
    if anneal:
        steps_hint = planned_steps(int(csubset), int(cepochs))
        xs, ws = kl_weight_curve(kind, float(cbeta), max(1, int(frac * steps_hint)), steps_hint)
        st.plotly_chart(kl_weight_figure(xs, ws), width="stretch", key="col_weight_preview")
    job_fragment(manager, "collapse_job", live_collapse, POLL_S)


def main() -> None:
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
    tab_sweep, tab_collapse = st.tabs(["β sweep: rate vs distortion", "Posterior collapse: cause and fixes"])
    with tab_sweep:
        sweep_tab(manager, test)
    with tab_collapse:
        collapse_tab(manager, test)


main()
