"""The app's Streamlit layer between the pages (app_pages/) and the engine (vae_core/). No model maths lives here.

Modules (pages import the ones they use, e.g. ``from ui.images import to_image``):

- ``state``        the model registry (shipped, saved, this session's), :class:`ActiveModel`, the server-wide
                   caches of models, data, encodings and projections (keyed by the model's key), saving,
                   uploading and downloading checkpoints, and the page guards ``require_model`` / ``require_data``
- ``sidebar``      the shared sidebar: model picker and the active model's facts
- ``nav``          THE list of pages (app.py's navigation and the home page's links)
- ``pickers``      choosing a test digit, or the digit drawn on the Drawing Board
- ``images``       digits as upscaled images, PNG / GIF bytes, strips, rows of digits
- ``plots``        latent-map scatter, markers, paths and outlines, the map's frame, selections
- ``byo``          bring your own (#19): a user's data set (upload, caps, training on it, its splits found by
                   SHA-256 for every page) and a user's trained VAE (safetensors import) on Train & Models
- ``jobs_view``    a background training job's live view (polling fragment, progress, stop, end message)
- ``views/``       the views of one page each, named after it (latent_map, decoder_sliders, beta_lab with
                   beta_lab_figures and beta_lab_quality, elbo_bounds, recommender); its __init__ lists them
- ``fmt``          number formatters and the labels / units of measured image features
- ``compute/``     what each page computes, as Streamlit-free functions returning small dataclasses or dicts
                   (latent_map, sliders, interpolation, drawing, anomaly, editing, conditional, inpainting,
                   beta_lab, theory_pages, sprites, naming),
                   unit-tested in tests/ui
- ``live``         the live in-browser view of a model (a component; the server stays the reference)
- ``family_models`` the one cached loader of a checkpoint of any family (the registry picks the loader), and the
                   shipped text and molecule VAEs of the "Beyond digits" pages, their corpora and encodings
- ``text``         text from users and files shown as plain text
- ``owner``        who owns a browser's work: the owner secret in a cookie (never in a URL), job owners, who may
                   delete a saved model (#21)
- ``component_values`` strict checks and size caps for every value an in-page component sends back (#21)
- ``formula``      a formula beside the number it gives (the theory pages' rows)

Importing ``ui`` has no side effects on torch (grad mode is per thread; the engine's evaluation functions run
under ``torch.no_grad``)."""

from ui.state import (  # noqa: E402  re-exported for convenience: ui.get_model(...), ui.USER_DIR, …
    SHIPPED_DIR,
    USER_DIR,
    ActiveModel,
    add_session_model,
    available_models,
    checkpoint_files,
    get_data,
    get_model,
    load_uploaded,
    save_user_model,
    session_id,
    session_model,
)

__all__ = ["SHIPPED_DIR", "USER_DIR", "ActiveModel", "add_session_model", "available_models", "checkpoint_files",
           "get_data", "get_model", "load_uploaded", "save_user_model", "session_id", "session_model"]
