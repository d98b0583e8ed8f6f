"""The sidebar's names for stored test numbers: '−log p(x) ≤' only where the number bounds a log-likelihood."""

from ui.compute.naming import metric_names


def test_names_follow_the_likelihood():
    grey = metric_names({"likelihood": "bernoulli", "binarization": "none", "test_metrics": {"iwae_k": 500}})
    assert "log p" not in grey["iwae_nll"][0] and "not a −log p(x)" in grey["iwae_nll"][1]
    assert "500" in grey["iwae_nll"][1]
    assert metric_names({}) == metric_names({"likelihood": "bernoulli", "binarization": "none"})  # old checkpoints
    cb = metric_names({"likelihood": "continuous_bernoulli"})
    assert cb["iwae_nll"][0] == "−log p(x) ≤" and "density" in cb["iwae_nll"][1]
    b = metric_names({"likelihood": "bernoulli", "binarization": "dynamic"})
    assert b["iwae_nll"][0] == "−log P(x) ≤" and "P(x)" in b["iwae_nll"][1]
