"""The sidebar's names for stored test numbers: '−log p(x) ≤' only where the number bounds a log-likelihood."""

from ui.compute.naming import metric_names


def test_names_follow_the_likelihood():
    grey = metric_names({"likelihood": "bernoulli", "binarization": "none", "test_metrics": {"iwae_k": 500}})
    assert "log p" not in grey["iwae_nll"][0] and "not a bound" in grey["iwae_nll"][1] and "500" in grey["iwae_nll"][1]
    old = metric_names({})  # checkpoints saved before the fields existed: grey Bernoulli
    assert old == metric_names({"likelihood": "bernoulli", "binarization": "none"})
    cb = metric_names({"likelihood": "continuous_bernoulli"})
    assert cb["iwae_nll"][0] == "−log p(x) ≤" and "density" in cb["iwae_nll"][1]
    b = metric_names({"likelihood": "bernoulli", "binarization": "dynamic"})
    assert b["iwae_nll"][0] == "−log P(x) ≤" and "probability" in b["iwae_nll"][1]
