"""Bring your own (#19): a user's data set and a user's trained VAE on Train & Models, and the data of models
trained on a user's data set for every page.

* :func:`user_split` -- the train / test split of a stored data set, found by its SHA-256 (what a model's JSON
  records) in the data folders (``<VAE_USER_MODELS>/datasets``, ``<VAE_CHECKPOINT_DIR>/datasets``);
* :func:`own_data_section` -- upload a data set (caps stated, refusals shown as plain text), see it, train on it
  in the background (the worker reads the stored file itself: ``vae_core.jobs.DataSpec(path=…)``);
* :func:`import_section` -- upload a safetensors state dict + its layout and use it as a model
  (``vae_core.digits.import_model``, the same conversion as ``python -m vae_core import-model``).
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from ui.images import to_image, wrap_strip
from ui.jobs_view import job_fragment, progress_line, stop_button
from ui.state import SHIPPED_DIR, USER_DIR, add_session_model, session_id, session_model
from ui.text import plain
from vae_core import CheckpointError, DataUnavailable
from vae_core.digits.user_data import (
    DATA_SUBDIR,
    LIMITS,
    UserDataError,
    dataset_meta,
    find_dataset,
    load_user_data,
    store_dataset,
)

MAX_STORED_DATASETS = int(os.environ.get("VAE_MAX_DATASETS", "50"))  # files in the server's data folder
JOB_KEY = "byo_job"


def data_dirs() -> list:
    return [USER_DIR / DATA_SUBDIR, SHIPPED_DIR / DATA_SUBDIR]


def caps_text() -> str:
    return (f"At most {LIMITS['file_mb']} MB, {LIMITS['images']:,} images, height and width from "
            f"{LIMITS['min_side']} to {LIMITS['side']} pixels, {LIMITS['pixels']:,} pixels in all, "
            f"{LIMITS['classes']} classes. Colour images are converted to grey (0.299 R + 0.587 G + 0.114 B): the "
            f"models here work on one channel. This server keeps at most {MAX_STORED_DATASETS} data sets.")


@st.cache_resource(show_spinner="Reading the data set…", max_entries=4)
def _splits(sha256: str, file_name: str | None = None):
    path = find_dataset(sha256, data_dirs())
    if path is None:
        raise DataUnavailable(
            f"The data set this model was trained on (SHA-256 {str(sha256)[:12]}…) is not on this server. Upload "
            "the same file on Train & Models → 'Your own data' and the model's pages work again.")
    try:
        ud = load_user_data(path, _name(file_name, path))
    except UserDataError as exc:
        raise DataUnavailable(f"The stored data set {path.name} cannot be read: {exc}") from None
    if ud.sha256 != sha256:
        raise DataUnavailable(f"The stored data set {path.name} does not match its name (changed on disk).")
    return ud.split()


def _name(file_name, path) -> str:
    """The user's own file name (from the model's JSON) when it has the stored file's extension, for the texts."""
    ok = isinstance(file_name, str) and file_name.lower().endswith(path.suffix) and len(file_name) <= 120
    return file_name if ok else path.name


def user_split(sha256: str | None, split: str = "test", file_name: str | None = None):
    """The ``split`` ("train" / "test") of the stored data set with this SHA-256, as DigitData (cached);
    ``file_name``: the user's name of the file, used in the descriptions."""
    train, test = _splits(str(sha256), file_name)
    return train if split == "train" else test


# ------------------------------------------------------------------------------------------ your own data
def _accept_upload(up) -> tuple[str | None, str | None]:
    """(sha256, None) of an accepted upload (stored in the data folder) or (None, the refusal)."""
    raw = up.getvalue()
    try:
        ud = load_user_data(raw, up.name)
        folder = USER_DIR / DATA_SUBDIR
        if find_dataset(ud.sha256, [folder]) is None:
            n = len(list(folder.glob("*.*"))) if folder.is_dir() else 0
            if n >= MAX_STORED_DATASETS:
                return None, f"this server already holds {n} data sets, its limit; nothing was stored"
            store_dataset(raw, folder, up.name)
    except UserDataError as exc:
        return None, f"This file was refused: {exc}"
    except OSError as exc:
        return None, f"The data set could not be stored on this server: {exc.strerror or exc}"
    st.session_state.setdefault("byo_meta", {})[ud.sha256] = dataset_meta(ud)
    return ud.sha256, None


def _preview(meta: dict) -> None:
    train, test = user_split(meta["sha256"], "train", meta["file"]), user_split(meta["sha256"], "test", meta["file"])
    h, w = meta["image_shape"]
    st.success(plain(f"{meta['description']}. Split (seed 0): {len(train):,} training and {len(test):,} test "
                     "images."))
    labels = train.labels.numpy()
    pick = []
    for c in range(len(meta["label_names"])):
        pick += list(np.flatnonzero(labels == c)[:2])
    pick = np.array(pick[:16] or list(range(min(16, len(train)))))
    st.image(to_image(wrap_strip(train.images[pick].numpy().reshape(-1, h, w), 16), 60 * h),
             caption=f"training images ({h}×{w}), {'two per class' if meta['has_labels'] else 'the first ones'}")


def own_data_section(manager) -> None:
    """Upload a data set and train a VAE on it in the background."""
    st.subheader("Your own data")
    st.caption("A .npz with images `x` (N×H×W grey or N×H×W×3 colour, uint8 0–255 or float in [0, 1]), optional "
               "integer labels `y` (0 … K−1) and label names `names`; or a .npy of images; or a .zip of PNG/JPEG "
               "images in one folder per class. " + caps_text() + " Nothing is unpickled. The file is kept on this "
               "server (by its SHA-256) so that models trained on it can be explored; the command line does the "
               "same: `python -m vae_core train --data FILE --latent-dim 2 --epochs 2 --out DIR/NAME`.")
    up = st.file_uploader("data set (.npz, .npy or .zip)", type=["npz", "npy", "zip"], key="byo_data")
    if up is None:
        return
    done = st.session_state.get("byo_done")
    if done is None or done[0] != up.file_id:  # each upload is read once, not on every rerun
        done = (up.file_id, *_accept_upload(up))
        st.session_state["byo_done"] = done
    _, sha, error = done
    if error is not None:
        st.error(plain(error))
        return
    meta = st.session_state["byo_meta"][sha]
    try:
        _preview(meta)
    except DataUnavailable as exc:
        st.error(plain(exc))
        return
    h, w = meta["image_shape"]
    with st.form("byo_train_form"):
        c1, c2, c3 = st.columns(3)
        latent = c1.selectbox("latent size", [2, 3, 5, 10, 20], index=0, key="byo_latent")
        hidden = c1.text_input("hidden layers", "256,128", max_chars=60, key="byo_hidden",
                               help=f"encoder sizes; the decoder mirrors. Input: {h}×{w} = {h * w} pixels")
        beta = c2.number_input("β (KL weight)", 0.0, 100.0, 1.0, step=0.5, format="%.2f", key="byo_beta")
        epochs = c2.number_input("epochs", 1, 200, 20, key="byo_epochs")
        lr = c3.number_input("learning rate", 1e-5, 1.0, 1e-3, format="%.5f", key="byo_lr")
        batch = c3.select_slider("batch size", [32, 64, 128, 256], value=128, key="byo_batch")
        stem = meta["file"].rsplit(".", 1)[0]
        name = st.text_input("name for the model", _default_name(stem, latent), max_chars=64, key="byo_name")
        go_train = st.form_submit_button("Train on this data set", type="primary")
    if go_train:
        _start(manager, meta, latent, hidden, beta, epochs, lr, batch, name)
    job_fragment(manager, JOB_KEY, _live)


def _default_name(stem: str, latent: int) -> str:
    import re

    s = re.sub(r"[^A-Za-z0-9._-]", "-", stem).strip("-.") or "data"
    return f"{s[:40]}-z{latent}"


def _start(manager, meta, latent, hidden, beta, epochs, lr, batch, name) -> None:
    from vae_core.digits.checkpoint import validate_name
    from vae_core.digits.train import TrainConfig
    from vae_core.jobs import CapacityError, DataSpec, parse_hidden_dims

    try:
        dims = parse_hidden_dims(hidden)
        name = validate_name(name)
        path = find_dataset(meta["sha256"], data_dirs())
        if path is None:
            raise UserDataError("the data set is no longer on this server; upload it again")
        n_train = meta["n"] - max(1, round(0.2 * meta["n"]))
        cfg = TrainConfig(latent_dim=int(latent), hidden_dims=dims, beta=float(beta), epochs=int(epochs),
                          lr=float(lr), batch_size=int(batch),
                          log_every=max(1, min(20, -(-n_train // int(batch)) * int(epochs) // 40)))
        job = manager.submit(name, [(name, cfg)], owner=session_id(),
                             data=DataSpec("user", None, seed=0, path=str(path), sha256=meta["sha256"],
                                           file_name=_name(meta["file"], path)),
                             data_description=f"{meta['file']} ({meta['image_shape'][0]}×{meta['image_shape'][1]})",
                             kind=JOB_KEY)
        st.session_state[JOB_KEY] = job.id
        st.session_state.setdefault("byo_job_meta", {})[job.id] = meta
    except (ValueError, CheckpointError) as exc:
        st.error(f"Cannot start: {plain(exc)}")
    except CapacityError as exc:
        st.warning(plain(exc))


def _use(key: str) -> None:
    st.session_state["model_key"] = key


def _live(job) -> None:
    from vae_core.digits.checkpoint import build_metadata

    if job is None:
        return
    snap = job.snapshot()
    m = snap["members"][0]
    progress_line(snap)
    stop_button(job, "byo_stop")
    reps = [r for r in m["reports"] if r.kind == "step"]
    if reps:
        df = pd.DataFrame({"step": [r.step for r in reps], "recon": [r.recon for r in reps],
                           "kl": [r.kl for r in reps]})
        fig = go.Figure([go.Scatter(x=df.step, y=df.recon, name="reconstruction −E[log p(x|z)]"),
                         go.Scatter(x=df.step, y=df.kl, name="KL(q(z|x) ‖ p(z))", yaxis="y2")])
        fig.update_layout(height=280, xaxis_title="step", yaxis_title="reconstruction, nats / image",
                          yaxis2=dict(title="KL, nats / image", overlaying="y", side="right"),
                          margin=dict(l=10, r=10, t=20, b=10), legend=dict(orientation="h"))
        st.plotly_chart(fig, width="stretch", key="byo_curves")
    meta = (st.session_state.get("byo_job_meta") or {}).get(job.id)
    if snap["status"] in ("done", "stopped", "diverged") and m["model"] is not None and meta is not None:
        res, tm = m["result"], m["test_metrics"] or {}
        (st.error if snap["status"] == "diverged" else st.success)(
            f"{plain(snap['message'])}. Test −ELBO {tm.get('neg_elbo', float('nan')):.2f} nats/image "
            f"(reconstruction {tm.get('recon', float('nan')):.2f} + KL {tm.get('kl', float('nan')):.2f}) on the "
            f"{meta['n'] - snap['n_train']:,} test images of your data set.")
        title = snap["title"]
        got = session_model(title)
        if got is None or got[0] is not m["model"]:
            ds = dict(meta, n_train=snap["n_train"], n_test=meta["n"] - snap["n_train"])
            m["model"].image_shape = tuple(meta["image_shape"])  # what loading its checkpoint would set
            try:
                add_session_model(title, m["model"], build_metadata(m["config"], res, name=title, test_metrics=tm,
                                                                    dataset=ds))
            except CheckpointError as exc:
                st.error(plain(exc))
        if session_model(title) is not None:
            st.button("Use this model now", key="byo_use", on_click=_use, args=(f"session/{title}",), type="primary")
            st.caption("Latent Map, Decoder Sliders and Interpolation work on it; pages made for 28×28 digits say so.")
    elif snap["status"] == "failed":
        st.error(plain(snap["message"]))
    elif snap["status"] in ("done", "stopped", "diverged") and meta is None:  # a reloaded tab lost the entry
        st.info("This training finished, but this tab no longer knows its data set (the page was reloaded): "
                "upload the data set again and train once more to use the model here.")


# ------------------------------------------------------------------------------------------ your own model
def import_section() -> None:
    """Upload a VAE's safetensors state dict and its layout; it becomes a model of this session."""
    from vae_core.digits.import_model import LAYOUTS, convert, imported_metadata, parse_layout, read_state_dict

    st.subheader("Import a trained model")
    st.caption("A VAE trained elsewhere, as a **safetensors** state dict (`safetensors.torch.save_file(model."
               "state_dict(), 'vae.safetensors')`; pickled .pt files are refused). Layouts: `pytorch-examples` "
               "(pytorch/examples vae/main.py: fc1, fc21/fc22 → μ, log σ², fc3, fc4, ReLU, sigmoid output) or "
               "`mlp` with a small JSON naming the layers (see `python -m vae_core import-model --help`). The input "
               "must be 28×28 MNIST digits, or the images of a data set uploaded above. The command line does the "
               "same: `python -m vae_core import-model WEIGHTS.safetensors --layout pytorch-examples --out DIR/NAME`.")
    up_w = st.file_uploader("weights (.safetensors)", type=["safetensors"], key="imp_w")
    c1, c2 = st.columns(2)
    layout = c1.selectbox("layout", LAYOUTS, key="imp_layout")
    up_j = c2.file_uploader("layout JSON (for mlp)", type=["json"], key="imp_j") if layout == "mlp" else None
    data_meta = st.session_state.get("byo_meta") or {}
    opts = ["mnist", *data_meta]
    data_pick = st.selectbox("images the model takes", opts, key="imp_data",
                             format_func=lambda k: "MNIST digits, 28×28" if k == "mnist" else
                             f"your data set {data_meta[k]['file']} ({data_meta[k]['image_shape'][0]}×"
                             f"{data_meta[k]['image_shape'][1]})")
    if up_w is None or (layout == "mlp" and up_j is None):
        return
    ident = (up_w.file_id, layout, None if up_j is None else up_j.file_id, data_pick)
    done = st.session_state.get("imp_done")
    if done is None or done[0] != ident:
        try:
            spec = parse_layout(layout, None if up_j is None else up_j.getvalue())
            ds = None if data_pick == "mnist" else data_meta[data_pick]
            n_in = 784 if ds is None else ds["image_shape"][0] * ds["image_shape"][1]
            raw = up_w.getvalue()
            model = convert(read_state_dict(raw), spec, n_in)
            if ds is not None:
                model.image_shape = tuple(ds["image_shape"])
            from vae_core.digits.checkpoint import validate_name

            name = validate_name(_default_name(up_w.name.rsplit(".", 1)[0], model.latent_dim).rsplit("-z", 1)[0])
            meta = imported_metadata(model, name, layout, up_w.name, raw, ds)
            done = (ident, add_session_model(name, model, meta), None)
        except (CheckpointError, ValueError) as exc:
            done = (ident, None, f"This import was refused: {exc}")
        st.session_state["imp_done"] = done
    _, key, error = done
    if error is not None:
        st.error(plain(error))
        return
    got = session_model(key.removeprefix("session/"))
    if got is not None:
        model = got[0]
        arch = "-".join(map(str, [model.input_dim, *model.hidden_dims, model.latent_dim]))
        st.success(plain(f"Imported {key.removeprefix('session/')}: a {arch} VAE ({model.activation}). It is in the "
                         "sidebar's list."))
        st.button("Use it now", key="imp_use", on_click=_use, args=(key,))


# ------------------------------------------------------------------------------------------ the β/KL Lab
LAB_KEY = "lab_user_data"  # session_state: job id -> the 'dataset' entry of a β sweep trained on a user's data set


def lab_data_choice() -> dict | None:
    """On the β/KL Lab, when the sidebar's model was trained on a user's data set: train the sweep on that data
    set or on MNIST.  Returns the data set's checkpoint entry, or None for MNIST."""
    am = st.session_state.get("_active")
    if am is None or not getattr(am, "is_user_data", False):
        return None
    ds = am.meta.get("dataset") or {}
    h, w = am.image_shape
    pick = st.radio("Train the sweep on", ["user", "mnist"], horizontal=True, key="lab_data",
                    format_func=lambda k: (f"your data set {ds.get('file', '')} ({h}×{w}, the sidebar model's)"
                                           if k == "user" else "MNIST digits"))
    return dict(ds) if pick == "user" else None


def lab_job_data(job_id) -> dict | None:
    """The data set entry of a Lab job trained on a user's data set (this session), or None (MNIST)."""
    return (st.session_state.get(LAB_KEY) or {}).get(job_id)


def lab_test(ds: dict):
    """The test split of a user's data set named by its checkpoint entry."""
    return user_split(ds.get("sha256"), "test", ds.get("file"))


def lab_spec(ds: dict):
    """The DataSpec a worker loads a user's data set from (the stored file, checked by its SHA-256)."""
    from vae_core.jobs import DataSpec

    path = find_dataset(ds.get("sha256"), data_dirs())
    if path is None:
        raise DataUnavailable("the data set is no longer on this server; upload it again on Train & Models")
    return DataSpec("user", None, seed=0, path=str(path), sha256=ds["sha256"], file_name=_name(ds.get("file"), path))
