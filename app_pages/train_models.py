"""Train & Models: train a new model in the background with live curves, save,
upload and download checkpoints.  Uses the same Trainer as the CLI."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

import ui
from ui.jobs_view import job_fragment, progress_line, slots_caption, stop_button
from ui.owner import owns_saved
from ui.state import get_session_model, max_upload_mb, model_facts
from ui.text import plain
from vae_core import CheckpointError, DataUnavailable
from vae_core.digits.checkpoint import build_metadata, dataset_info, validate_name
from vae_core.digits.train import TrainConfig
from vae_core.jobs import JOB_LIMITS, CapacityError, DataSpec, get_manager, parse_hidden_dims


def delete_saved(name: str) -> None:
    """on_click of "Delete from this server": only a model this browser saved (its owner secret, ui.owner)."""
    from ui.owner import delete_saved as delete
    from ui.state import USER_DIR

    try:
        gone = delete(USER_DIR, name)
    except OSError as exc:
        st.session_state["_delete_msg"] = ("error", f"Could not delete {name}: {exc.strerror or exc}")
        return
    st.session_state["_delete_msg"] = (("success", f"Deleted {name} from this server.") if gone else
                                       ("error", f"{name} was not saved from this browser; it was not deleted."))
    for k in ("save_pick", "model_key"):
        if st.session_state.get(k) == f"saved/{name}":
            st.session_state.pop(k)


def use_model(key: str) -> None:
    """on_click of the "use" buttons: runs before the script, so the sidebar's picker has not been drawn yet
    (setting its key after it exists raises StreamlitAPIException)."""
    st.session_state["model_key"] = key


def train_form(manager, sid: str) -> None:
    """The training form; Start submits a job to the manager (the worker loads the training data itself)."""
    with st.form("train_form"):
        c1, c2, c3 = st.columns(3)
        latent = c1.selectbox("latent size", [2, 3, 5, 10, 20, 32], index=0)
        hidden = c1.text_input("hidden layers", "512,256", max_chars=60,
                               help=f"encoder sizes, comma separated; the decoder mirrors. At most "
                                    f"{JOB_LIMITS['max_layers']} layers of at most {JOB_LIMITS['max_width']:,} units "
                                    f"on this server; a training stops after {manager.max_seconds / 60:g} min")
        cvae = c1.checkbox("class-conditional (CVAE)", value=False)
        beta = c2.number_input("β (KL weight)", 0.0, 100.0, 1.0, step=0.5, format="%.2f")
        schedule = c2.selectbox("KL schedule", ["constant", "linear", "cyclical"],
                                help="linear: warm β up from 0; cyclical: repeat the warm-up")
        warmup = c2.number_input("warm-up / cycle steps", 0, 100_000, 0, step=100)
        free_bits = c2.number_input("free bits λ (nats per dim)", 0.0, 5.0, 0.0, step=0.1)
        epochs = c3.number_input("epochs", 1, 200, 5)
        lr = c3.number_input("learning rate", 1e-5, 10.0, 1e-3, format="%.5f")
        batch = c3.select_slider("batch size", [32, 64, 128, 256, 512], value=128)
        subset = c3.select_slider("training subset", [1_000, 2_000, 5_000, 10_000, 20_000, 60_000], value=10_000,
                                  help="random subset of the training split (fewer = faster)")
        name = st.text_input("name for the model", f"my-z{latent}-beta{beta:g}", max_chars=64,
                             help="letters, digits, '.', '_' and '-' only")
        go_train = st.form_submit_button("Start training", type="primary")
    if go_train:
        try:
            dims = parse_hidden_dims(hidden)
            name = validate_name(name)
            cfg = TrainConfig(latent_dim=int(latent), hidden_dims=dims, conditional=cvae, beta=float(beta),
                              kl_schedule=schedule, warmup_steps=int(warmup), free_bits=float(free_bits),
                              epochs=int(epochs), lr=float(lr), batch_size=int(batch),
                              log_every=max(1, min(20, -(-int(subset) // int(batch)) * int(epochs) // 40)))
            # the worker loads the training subset itself (this server does not hold the training split)
            job = manager.submit(name, [(name, cfg)], owner=sid, data=DataSpec("mnist", int(subset), seed=0),
                                 data_description=f"{int(subset):,} training digits", kind="train_job")
            st.session_state["train_job"] = job.id
        except (ValueError, CheckpointError) as exc:
            st.error(f"Cannot start: {plain(exc)}")
        except CapacityError as exc:  # the server's slots, or this session's one training
            st.warning(plain(exc))
        except DataUnavailable as exc:
            st.error(plain(exc))


def live_training(job) -> None:
    """The fragment's body: this session's training job, its curves while it runs, its result when it ends."""
    if job is None:
        st.info("No training started in this session yet.")
        return
    snap = job.snapshot()
    m = snap["members"][0]
    reps = [r for r in m["reports"] if r.kind == "step"]
    cfg = m["config"]
    progress_line(snap)
    stop_button(job, "stop_train")
    if reps:
        df = pd.DataFrame({"step": [r.step for r in reps], "reconstruction": [r.recon for r in reps],
                           "KL": [r.kl for r in reps], "β·KL weight": [r.kl_weight for r in reps]})
        c1, c2 = st.columns(2)
        f1 = go.Figure(go.Scatter(x=df.step, y=df.reconstruction, name="reconstruction",
                                  line=dict(color="#1f77b4")))
        f1.update_layout(height=300, title="Reconstruction −E[log p(x|z)]", xaxis_title="step",
                         yaxis_title="nats / image", margin=dict(l=10, r=10, t=40, b=10))
        c1.plotly_chart(f1, width="stretch")
        f2 = go.Figure(go.Scatter(x=df.step, y=df.KL, name="KL", line=dict(color="#d62728")))
        f2.update_layout(height=300, title="KL(q(z|x) ‖ p(z))", xaxis_title="step", yaxis_title="nats / image",
                         margin=dict(l=10, r=10, t=40, b=10))
        c2.plotly_chart(f2, width="stretch")
        last = reps[-1]
        k1, k2, k3, k4 = st.columns(4)
        k1.metric("reconstruction", f"{last.recon:.1f} nats")
        k2.metric("KL", f"{last.kl:.2f} nats")
        k3.metric("current KL weight", f"{last.kl_weight:.3g}")
        k4.metric("speed", f"{last.samples_per_s:,.0f} img/s")
    if snap["status"] in ("done", "stopped", "diverged") and m["model"] is not None:
        res, tm = m["result"], m["test_metrics"] or {}
        (st.error if snap["status"] == "diverged" else st.success)(
            f"{plain(snap['message'])}. Test −ELBO {tm.get('neg_elbo', float('nan')):.2f} nats/image "
            f"(reconstruction {tm.get('recon', float('nan')):.2f} + KL {tm.get('kl', float('nan')):.2f}); "
            f"{res.samples_per_s:,.0f} images/s over {res.train_seconds:.1f} s of training.")
        key = f"session/{snap['title']}"
        registered = ui.session_model(snap["title"])
        if registered is None or registered[0] is not m["model"]:  # first time, or a newer run of the same name
            meta = build_metadata(cfg, res, name=snap["title"], test_metrics=tm,
                                  dataset=dataset_info(name="mnist", description=snap["data"],
                                                       n_train=snap["n_train"]))
            try:
                ui.add_session_model(snap["title"], m["model"], meta)
            except CheckpointError as exc:
                st.error(plain(exc))
        if ui.session_model(snap["title"]) is not None:
            st.button("Use this model now", key="use_trained", on_click=use_model, args=(key,))
    elif snap["status"] in ("done", "stopped", "diverged"):  # its weights were released with its session
        tm = m["test_metrics"] or {}
        st.info(f"{plain(snap['message'])}. Test −ELBO {tm.get('neg_elbo', float('nan')):.2f} nats/image; the "
                "curves above remain, the model itself is gone: train again to use one.")
    elif snap["status"] == "failed":
        st.error(plain(snap["message"]))


def models_table(models: dict[str, str]) -> None:
    """Every model in the sidebar's list with its metadata (no model is loaded for this table)."""
    st.subheader("Models available")
    rows = []
    for key, label in models.items():
        meta = model_facts(key)  # the metadata only (validated): no model is loaded for this table
        if meta is None:
            continue
        tm = meta.get("test_metrics") or {}
        rows.append({"model": label, "latent": meta["latent_dim"], "β": meta.get("beta"),
                     "CVAE": meta["conditional"], "test −ELBO (nats)": tm.get("neg_elbo"),
                     "IWAE bound (nats)": tm.get("iwae_nll"), "epochs": meta.get("epochs")})
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")


def save_section(models: dict[str, str]) -> None:
    """Save a model on this server, delete one this browser saved, download its two files."""
    st.subheader("Save or download")
    if (msg := st.session_state.pop("_delete_msg", None)) is not None:
        (st.success if msg[0] == "success" else st.error)(plain(msg[1]))
    pick = st.selectbox("model", list(models), format_func=models.get, key="save_pick")
    try:
        am = ui.get_model(pick)
    except (CheckpointError, FileNotFoundError, KeyError) as exc:
        st.error(f"Could not load this model: {plain(exc)}")
        am = None
    if am is not None:
        new_name = st.text_input("save as", am.name, key="save_name", max_chars=64)
        if st.button("Save on this server"):
            try:
                path = ui.save_user_model(new_name, am.model, am.meta)
                st.success(f"Saved as {plain(path.name.removesuffix('.safetensors'))} — it is now in every "
                           "session's model list.")
            except CheckpointError as exc:
                st.error(plain(exc))
        if pick.startswith("saved/") and owns_saved(ui.USER_DIR, pick.removeprefix("saved/")):
            st.button("Delete from this server", key="delete_saved", on_click=delete_saved,
                      args=(pick.removeprefix("saved/"),), icon=":material/delete:",
                      help="You saved this model from this browser, so you may delete it (nobody else can).")
        try:
            w, j = ui.checkpoint_files(am)
            st.download_button("⬇ weights (.safetensors)", w, f"{am.name}.safetensors",
                               "application/octet-stream")
            st.download_button("⬇ metadata (.json)", j, f"{am.name}.json", "application/json")
        except CheckpointError as exc:
            st.error(plain(exc))


def upload_section() -> None:
    """Upload both files of a checkpoint; validated, kept in this session only."""
    st.subheader("Upload")
    st.caption(f"Upload both files of a checkpoint made by this app (at most {max_upload_mb()} MB each). "
               "Files are validated (format, metadata fields and their ranges, architecture, shapes, "
               "checksum); pickled files are never opened. An uploaded model stays in this session only.")
    up_w = st.file_uploader("weights (.safetensors)", type=["safetensors"], key="up_w")
    up_j = st.file_uploader("metadata (.json)", type=["json"], key="up_j")
    if up_w is not None and up_j is not None:
        pair = (up_w.file_id, up_j.file_id)
        done = st.session_state.get("upload_done")
        if done is None or done[0] != pair:  # each pair is read once, not on every rerun
            try:
                model, meta = ui.load_uploaded(up_w.getvalue(), up_j.getvalue())
                uname = validate_name(meta.get("name") or up_w.name.rsplit(".", 1)[0])
                done = (pair, ui.add_session_model(uname, model, meta), None)
            except CheckpointError as exc:
                done = (pair, None, f"This upload was rejected: {exc}")
            st.session_state["upload_done"] = done
        _, key, error = done
        if error is not None:
            st.error(plain(error))
        elif get_session_model(key) is not None:
            model, _ = get_session_model(key)
            st.success(f"Loaded {plain(key.removeprefix('session/'))} (latent size {model.latent_dim}). It is "
                       "in the sidebar's list.")
            st.button("Use it now", key="use_uploaded", on_click=use_model, args=(key,))
    elif up_w is not None or up_j is not None:
        st.info("Add the other file of the pair too.")


def main() -> None:
    st.title("Train & Models")
    st.caption("Train a VAE on MNIST right here — the same training code as `python -m vae_core train`. Training "
               "runs in the background: you can visit other pages and come back. Trained models can be used "
               "in every page (sidebar), saved on this server, or downloaded.")
    manager = get_manager()
    sid = ui.session_id()
    tab_train, tab_models, tab_byo = st.tabs(["Train a model", "Save · upload · download",
                                             "Your own data · your own model"])
    with tab_train:
        train_form(manager, sid)
        job_fragment(manager, "train_job", live_training)  # polls only while the job trains
        slots_caption(manager)
    with tab_models:
        models = ui.available_models()
        models_table(models)
        c1, c2 = st.columns(2)
        with c1:
            save_section(models)
        with c2:
            upload_section()
    with tab_byo:  # bring your own (#19): the UI lives in ui/byo.py
        from ui import byo

        byo.own_data_section(manager)
        st.divider()
        byo.import_section()


main()
