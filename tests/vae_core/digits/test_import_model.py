"""Your own trained model (#19): a VAE trained here, in the tests' own code, in the pytorch/examples vae/main.py
layout (and in a JSON-described MLP layout) is imported from its safetensors state dict; the imported checkpoint
decodes (and encodes) as the original torch module does, within 1e-5.  Refusals with their messages."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from torch import nn

from vae_core import load_checkpoint
from vae_core.digits.import_model import ImportError_, import_model, main


class ExamplesVAE(nn.Module):
    """pytorch/examples vae/main.py, verbatim in structure (784-400-20)."""

    def __init__(self, n_in: int = 784, hidden: int = 400, latent: int = 20) -> None:
        super().__init__()
        self.fc1 = nn.Linear(n_in, hidden)
        self.fc21 = nn.Linear(hidden, latent)
        self.fc22 = nn.Linear(hidden, latent)
        self.fc3 = nn.Linear(latent, hidden)
        self.fc4 = nn.Linear(hidden, n_in)

    def encode(self, x):
        h1 = F.relu(self.fc1(x))
        return self.fc21(h1), self.fc22(h1)

    def decode(self, z):
        h3 = F.relu(self.fc3(z))
        return torch.sigmoid(self.fc4(h3))

    def forward(self, x):
        mu, logvar = self.encode(x.view(-1, self.fc1.in_features))
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        return self.decode(z), mu, logvar


@torch.enable_grad()  # some test modules switch grad off for the whole session when pytest imports them
def train_a_few_steps(model, n_in: int, steps: int = 5, seed: int = 0):
    torch.manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(steps):
        x = torch.rand(64, n_in)
        recon, mu, logvar = model(x)
        loss = F.binary_cross_entropy(recon, x, reduction="sum") - 0.5 * torch.sum(1 + logvar - mu**2 - logvar.exp())
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval()


@pytest.fixture(scope="module")
def examples_model(tmp_path_factory):
    d = tmp_path_factory.mktemp("pe")
    m = train_a_few_steps(ExamplesVAE(), 784)
    save_file(m.state_dict(), str(d / "vae.safetensors"))
    return m, d / "vae.safetensors"


def test_pytorch_examples_import_decodes_identically(examples_model, tmp_path):
    torch_model, weights = examples_model
    assert main([str(weights), "--layout", "pytorch-examples", "--out", str(tmp_path / "pe-z20")]) == 0
    model, meta = load_checkpoint(tmp_path / "pe-z20")
    assert meta["family"] == "mlp-vae" and meta["imported"]["layout"] == "pytorch-examples"
    assert meta["model"]["hidden_dims"] == [400] and meta["latent_dim"] == 20 and meta["model"]["activation"] == "relu"
    z = torch.randn(256, 20, generator=torch.Generator().manual_seed(3)) * 2
    x = torch.rand(32, 784, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        assert (model.decode(z) - torch_model.decode(z)).abs().max().item() <= 1e-5
        mu, lv = model.encode(x)
        mu_t, lv_t = torch_model.encode(x)
    assert (mu - mu_t).abs().max().item() <= 1e-5 and (lv - lv_t).abs().max().item() <= 1e-5


def test_mlp_layout_json_two_layers_tanh(tmp_path):
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = nn.Sequential(nn.Linear(784, 64), nn.Tanh(), nn.Linear(64, 32), nn.Tanh())
            self.mu, self.lv = nn.Linear(32, 3), nn.Linear(32, 3)
            self.dec = nn.Sequential(nn.Linear(3, 32), nn.Tanh(), nn.Linear(32, 64), nn.Tanh())
            self.out = nn.Linear(64, 784)

        def decode(self, z):
            return torch.sigmoid(self.out(self.dec(z)))

    torch.manual_seed(1)
    net = Net()
    save_file(net.state_dict(), str(tmp_path / "w.safetensors"))
    layout = {"encoder": ["enc.0", "enc.2"], "mu": "mu", "logvar": "lv", "decoder": ["dec.0", "dec.2"],
              "output": "out", "activation": "tanh", "output_activation": "sigmoid"}
    (tmp_path / "layout.json").write_text(json.dumps(layout))
    import_model(tmp_path / "w.safetensors", "mlp", tmp_path / "mine", tmp_path / "layout.json")
    model, _ = load_checkpoint(tmp_path / "mine")
    z = torch.randn(100, 3)
    with torch.no_grad():
        assert (model.decode(z) - net.decode(z)).abs().max().item() <= 1e-5


def test_import_with_your_own_data_set(tmp_path):
    """A model of 8×8 images imports with --data naming the data set (its H·W = 64 inputs)."""
    from test_user_data import sk_digits_npz

    sk_digits_npz(tmp_path / "d8.npz")
    m = train_a_few_steps(ExamplesVAE(64, 32, 2), 64)
    save_file(m.state_dict(), str(tmp_path / "w.safetensors"))
    with pytest.raises(ImportError_, match="784 pixels"):
        import_model(tmp_path / "w.safetensors", "pytorch-examples", tmp_path / "x")
    import_model(tmp_path / "w.safetensors", "pytorch-examples", tmp_path / "d8-imp", data=tmp_path / "d8.npz")
    model, meta = load_checkpoint(tmp_path / "d8-imp")
    assert meta["dataset"]["image_shape"] == [8, 8] and model.image_shape == (8, 8)
    z = torch.randn(10, 2)
    with torch.no_grad():
        assert (model.decode(z) - m.decode(z)).abs().max().item() <= 1e-5


@pytest.mark.parametrize(("change", "message"), [
    (lambda sd: sd.pop("fc22.weight"), "'fc22.weight'"),
    (lambda sd: sd.update({"fc3.weight": torch.zeros(300, 20), "fc3.bias": torch.zeros(300)}), "do not mirror"),
    (lambda sd: sd.update({"fc4.weight": torch.zeros(700, 400), "fc4.bias": torch.zeros(700)}),
     "must be (784, 400)"),
    (lambda sd: sd.__setitem__("fc3.bias", torch.zeros(7)), "a linear layer has weight (out, in)"),
    (lambda sd: sd.__setitem__("extra.weight", torch.zeros(2, 2)), "does not use: extra.weight"),
    (lambda sd: sd.__setitem__("fc21.weight", torch.zeros(20, 399)), "must be (20, 400)"),
])
def test_state_dicts_that_do_not_fit_are_refused(examples_model, tmp_path, change, message):
    sd = {k: v.clone() for k, v in examples_model[0].state_dict().items()}
    change(sd)
    save_file(sd, str(tmp_path / "w.safetensors"))
    with pytest.raises(ImportError_) as err:
        import_model(tmp_path / "w.safetensors", "pytorch-examples", tmp_path / "out")
    assert message in str(err.value)
    assert not (tmp_path / "out.json").exists()


def test_unknown_layout_too_large_and_pickles(examples_model, tmp_path, capsys):
    _, weights = examples_model
    assert main([str(weights), "--layout", "keras", "--out", str(tmp_path / "o")]) == 2
    assert "unknown layout 'keras'" in capsys.readouterr().err
    assert main([str(weights), "--layout", "mlp", "--out", str(tmp_path / "o")]) == 2
    assert "needs --layout-json" in capsys.readouterr().err
    big = {"fc1.weight": torch.zeros(5000, 784), "fc1.bias": torch.zeros(5000), "fc21.weight": torch.zeros(2, 5000),
           "fc21.bias": torch.zeros(2), "fc22.weight": torch.zeros(2, 5000), "fc22.bias": torch.zeros(2),
           "fc3.weight": torch.zeros(5000, 2), "fc3.bias": torch.zeros(5000), "fc4.weight": torch.zeros(784, 5000),
           "fc4.bias": torch.zeros(784)}
    save_file(big, str(tmp_path / "big.safetensors"))
    with pytest.raises(ImportError_, match="too large for this server"):
        import_model(tmp_path / "big.safetensors", "pytorch-examples", tmp_path / "o")
    torch.save(examples_model[0].state_dict(), tmp_path / "model.pt")  # a zip of pickles
    with pytest.raises(ImportError_, match="zip archive"):
        import_model(tmp_path / "model.pt", "pytorch-examples", tmp_path / "o")
    import pickle

    (tmp_path / "p.safetensors").write_bytes(pickle.dumps({"fc1.weight": np.zeros(3)}))
    with pytest.raises(ImportError_, match="pickle"):
        import_model(tmp_path / "p.safetensors", "pytorch-examples", tmp_path / "o")
    assert not list(tmp_path.glob("o.*"))
