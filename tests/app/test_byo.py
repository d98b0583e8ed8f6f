"""AppTest of bring your own (#19): upload scikit-learn's 8×8 digits on Train & Models, train on them in the
background, use the model: every explore page renders with 0 exceptions, the MNIST-only pages say so; a model of
a zip of generated non-square PNGs (trained by the command line) on every digit page; a pytorch/examples model
imported through the page decodes as the torch module does."""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
TM = "app_pages/train_models.py"
EXPLORE = ["app_pages/latent_map.py", "app_pages/decoder_sliders.py", "app_pages/interpolation.py"]
DIGITS_ONLY = ["app_pages/drawing_board.py", "app_pages/anomaly.py", "app_pages/inpainting.py",
               "app_pages/latent_editing.py", "app_pages/compression.py", "app_pages/elbo_bounds.py",
               "app_pages/reparameterisation.py"]
sys.path.insert(0, str(ROOT / "tests" / "vae_core" / "digits"))
from test_import_model import ExamplesVAE, train_a_few_steps  # noqa: E402
from test_user_data import png_zip, sk_digits_npz  # noqa: E402


def ok(at: AppTest) -> None:
    assert not at.exception, [e.message for e in at.exception]


@pytest.fixture
def byo_dir():
    """The server's user folder with its data-set folder emptied before and after (user_dir in conftest only
    unlinks files)."""
    import ui

    d = Path(ui.USER_DIR)

    def clean():
        if d.is_dir():
            for f in d.iterdir():
                shutil.rmtree(f) if f.is_dir() else f.unlink()

    clean()
    d.mkdir(parents=True, exist_ok=True)
    yield d
    clean()


def _open(key: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    if key:
        at.session_state["model_key"] = key
    at.run()
    ok(at)
    return at


def _visit(at: AppTest, page: str) -> AppTest:
    at.switch_page(page).run()
    ok(at)
    return at


def test_upload_train_and_explore_your_own_digits(byo_dir, tmp_path):
    from vae_core.jobs import get_manager

    sk_digits_npz(tmp_path / "digits8.npz")
    at = _visit(_open(), TM)
    at.file_uploader(key="byo_data").upload("digits8.npz", (tmp_path / "digits8.npz").read_bytes(),
                                            "application/octet-stream").run()
    ok(at)
    said = " ".join(s.value for s in at.success)
    assert "1,797 images of 8×8 pixels, 10 labels" in said and "1,438 training and 359 test images" in said
    at.text_input(key="byo_hidden").set_value("32")
    at.number_input(key="byo_epochs").set_value(3)
    at.text_input(key="byo_name").set_value("digits8-z2")
    [b for b in at.button if b.label == "Train on this data set"][0].click().run()
    ok(at)
    job = get_manager().get(at.session_state["byo_job"])
    deadline = time.time() + 120
    while job.active and time.time() < deadline:
        time.sleep(0.2)
    assert job.status == "done", job.message
    at.run()
    ok(at)
    assert "on the 359 test images of your data set" in " ".join(s.value for s in at.success)
    model, meta = at.session_state["session_models"]["digits8-z2"]
    assert model.input_dim == 64 and model.image_shape == (8, 8) and meta["dataset"]["name"] == "user"
    assert meta["dataset"]["n_train"] == 1438 and meta["dataset"]["label_names"][3] == "digit 3"
    at.button(key="byo_use").click().run()
    ok(at)
    assert at.session_state["model_key"] == "session/digits8-z2"
    for page in EXPLORE:
        _visit(at, page)
    lm = _visit(at, "app_pages/latent_map.py")
    spec = json.loads(lm.get("plotly_chart")[0].proto.spec)  # the map of the test set, coloured by label
    assert {"digit 0", "digit 3", "digit 9"} <= {t.get("name") for t in spec["data"]}
    for page in DIGITS_ONLY:
        at = _visit(at, page)
        assert any("28×28 MNIST-style digits only" in i.value for i in at.info), page


def test_zip_of_non_square_pngs_on_every_digit_page(byo_dir, tmp_path):
    """A model of 12×16 PNGs in class folders, trained by the command line into the server's folder."""
    from ui.nav import PAGES
    from vae_core.digits.cli import main

    png_zip(tmp_path / "shapes.zip")
    assert main(["--data", str(tmp_path / "shapes.zip"), "--latent-dim", "2", "--hidden-dims", "16", "--epochs",
                 "2", "--iwae-k", "0", "--out", str(byo_dir / "shapes-z2")]) == 0
    at = _open("saved/shapes-z2")
    assert at.session_state["_active"].image_shape == (12, 16)
    digit_pages = [p.path for p in PAGES if p.section in ("Explore", "Learn", "Apply", "Models")
                   or p.stem == "generation_quality"]
    for page in digit_pages:
        _visit(at, page)
    for page in EXPLORE:
        at = _visit(at, page)
        assert not any("MNIST-style digits only" in i.value for i in at.info), page


def test_import_a_pytorch_examples_model_in_the_page(byo_dir, tmp_path):
    from safetensors.torch import save_file

    torch_model = train_a_few_steps(ExamplesVAE(), 784)
    save_file(torch_model.state_dict(), str(tmp_path / "vae.safetensors"))
    at = _visit(_open(), TM)
    at.file_uploader(key="imp_w").upload("vae.safetensors", (tmp_path / "vae.safetensors").read_bytes(),
                                         "application/octet-stream").run()
    ok(at)
    assert any("784-400-20 VAE (relu)" in s.value.replace("\\", "") for s in at.success)  # plain() escapes
    at.button(key="imp_use").click().run()
    ok(at)
    key = at.session_state["model_key"]
    model, meta = at.session_state["session_models"][key.removeprefix("session/")]
    assert meta["imported"]["layout"] == "pytorch-examples"
    z = torch.randn(64, 20, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        assert (model.decode(z) - torch_model.decode(z)).abs().max().item() <= 1e-5
    for page in EXPLORE:
        _visit(at, page)


def test_beta_lab_sweep_on_your_own_data(byo_dir, tmp_path):
    """The β/KL Lab trains its sweep on the sidebar model's data set (8×8 digits), evaluates and draws it on that
    data set's test split, and hands the models to the other pages with the data set recorded."""
    from vae_core.digits.cli import main
    from vae_core.jobs import get_manager

    sk_digits_npz(tmp_path / "digits8.npz")
    assert main(["--data", str(tmp_path / "digits8.npz"), "--latent-dim", "2", "--hidden-dims", "16", "--epochs",
                 "1", "--iwae-k", "0", "--out", str(byo_dir / "d8")]) == 0
    at = _visit(_open("saved/d8"), "app_pages/beta_lab.py")
    at.radio(key="lab_source").set_value("Train a sweep here").run()
    ok(at)
    assert at.radio(key="lab_data").value == "user"
    at.multiselect(key="lab_betas").set_value([0.5, 4.0])
    at.number_input(key="lab_epochs").set_value(2)
    [b for b in at.button if b.label == "Train the sweep"][0].click().run()
    ok(at)
    job = get_manager().get(at.session_state["lab_job"])
    assert "digits8.npz" in job.snapshot()["data"]
    deadline = time.time() + 120
    while job.active and time.time() < deadline:
        time.sleep(0.2)
    assert job.status == "done", job.message
    at.run()
    ok(at)
    assert job.snapshot()["n_train"] == 1438
    at.button(key="lab_use").click().run()
    ok(at)
    names = [k for k in at.session_state["session_models"] if k.startswith("lab-")]
    assert len(names) == 2
    model, meta = at.session_state["session_models"][names[0]]
    assert meta["dataset"]["sha256"] == load_sha(tmp_path / "digits8.npz") and model.image_shape == (8, 8)
    at.run()  # the sidebar's picker now lists them
    at.selectbox(key="model_key").set_value(f"session/{names[0]}").run()
    ok(at)
    for page in EXPLORE:
        _visit(at, page)


def load_sha(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_import_an_mlp_layout_and_a_misfit_in_the_page(byo_dir, tmp_path):
    """The mlp layout with its JSON through the page (decodes as torch), then a state dict that does not fit
    the layout: the refusal names the tensor, as plain text, and nothing is added."""
    from safetensors.torch import save_file
    from torch import nn

    torch.manual_seed(2)
    net = nn.ModuleDict({"e0": nn.Linear(784, 48), "mu": nn.Linear(48, 4), "lv": nn.Linear(48, 4),
                         "d0": nn.Linear(4, 48), "out": nn.Linear(48, 784)})
    save_file(net.state_dict(), str(tmp_path / "mine.safetensors"))
    layout = json.dumps({"encoder": ["e0"], "mu": "mu", "logvar": "lv", "decoder": ["d0"], "output": "out",
                         "activation": "elu"}).encode()
    at = _visit(_open(), TM)
    at.selectbox(key="imp_layout").set_value("mlp").run()
    at.file_uploader(key="imp_j").upload("layout.json", layout, "application/json").run()
    at.file_uploader(key="imp_w").upload("mine.safetensors", (tmp_path / "mine.safetensors").read_bytes(),
                                         "application/octet-stream").run()
    ok(at)
    assert any("784-48-4 VAE (elu)" in s.value.replace("\\", "") for s in at.success)
    model, meta = at.session_state["session_models"]["mine"]
    z = torch.randn(32, 4)
    with torch.no_grad():
        want = torch.sigmoid(net["out"](torch.nn.functional.elu(net["d0"](z))))
        assert (model.decode(z) - want).abs().max().item() <= 1e-5
    bad = {k: v.clone() for k, v in net.state_dict().items()}
    bad["d0.weight"] = torch.zeros(48, 5)
    save_file(bad, str(tmp_path / "bad.safetensors"))
    at.file_uploader(key="imp_w").upload("bad.safetensors", (tmp_path / "bad.safetensors").read_bytes(),
                                         "application/octet-stream").run()
    ok(at)
    err = " ".join(e.value.replace("\\", "") for e in at.error)
    assert "This import was refused" in err and "do not mirror" in err
    assert list(at.session_state["session_models"]) == ["mine"]
