"""What a trained VAE is good for (seed §实际应用案例), one module per idea.

* :mod:`.anomaly`      -- anomaly scores (-ELBO, KL, reconstruction error), ROC / AUC, threshold rates,
  the most anomalous items, histogram bins (§3);
* :mod:`.ood`          -- out-of-distribution test sets: noise, inverted, rotated, sklearn's 8x8 digits;
* :mod:`.inpainting`   -- masks and inpainting by iterated encode-decode, with its measurements (§2);
* :mod:`.editing`      -- latent directions (class means, style regressions), edits, handwriting features (§5);
* :mod:`.compression`  -- the latent rate in nats and bits against 8-bit pixels (§4);
* :mod:`.posterior`    -- q(z|x) of one image: mean, draws, prior samples nearby, mean reconstruction;
* :mod:`.conditional`  -- a CVAE's label: one style as every digit, class samples, the best class of an image.

Every function takes a :class:`~vae_core.digits.model.VAE` or a CVAE; a CVAE needs the labels ``y``
wherever the model is run (the exceptions are documented).  Masks use 1 / True for a MISSING pixel.
Everything public is re-exported here, so ``from vae_core.digits.applications import inpaint`` works.
"""

from ...images import as_image_rows
from .anomaly import anomaly_scores, roc_auc, roc_curve, score_bins, score_histograms, threshold_rates, top_k
from .compression import compression_report, rate_summary
from .conditional import best_class, class_samples, class_swap
from .editing import (
    FEATURES,
    class_mean_direction,
    edit,
    edit_sweep,
    feature_std,
    image_features,
    style_direction,
    trend,
)
from .inpainting import (
    MASKS,
    completion_spread,
    inpaint,
    known_pixel_change,
    make_mask,
    mask_from_canvas,
    mask_overlay,
    missing_pixel_error,
)
from .ood import inverted, ood_sets, rotated, sklearn_digits_upscaled, uniform_noise
from .posterior import encode_one, mean_reconstruction, posterior_samples, sample_near

__all__ = [
    "FEATURES", "MASKS", "anomaly_scores", "as_image_rows", "best_class", "class_mean_direction", "class_samples",
    "class_swap", "completion_spread", "compression_report", "edit", "edit_sweep", "encode_one", "feature_std",
    "image_features", "inpaint", "inverted", "known_pixel_change", "make_mask", "mask_from_canvas", "mask_overlay",
    "mean_reconstruction", "missing_pixel_error", "ood_sets", "posterior_samples", "rate_summary", "roc_auc",
    "roc_curve", "rotated", "sample_near", "score_bins", "score_histograms", "sklearn_digits_upscaled",
    "style_direction", "threshold_rates", "top_k", "trend", "uniform_noise",
]
