"""The one list of pages: app.py builds the navigation from it and the home page links to each page with its
one-line description. A page file in app_pages/ that is not listed here fails tests/app/test_all_pages.py."""

from __future__ import annotations

from dataclasses import dataclass

HOME = "app_pages/home.py"


@dataclass(frozen=True)
class PageSpec:
    section: str
    path: str  # relative to the repository root, as st.Page and st.page_link take it
    title: str
    icon: str
    what: str  # one line on the home page

    @property
    def stem(self) -> str:
        return self.path.rsplit("/", 1)[-1].removesuffix(".py")


PAGES: tuple[PageSpec, ...] = (
    PageSpec("Explore", HOME, "Home", ":material/home:", ""),
    PageSpec("Explore", "app_pages/latent_map.py", "Latent Map", ":material/scatter_plot:",
             "where every test digit lands in latent space, its posterior σ, and the decoded manifold."),
    PageSpec("Explore", "app_pages/decoder_sliders.py", "Decoder Sliders", ":material/tune:",
             "move z by hand and watch the decoder draw; sample the prior; steer 20-D models along principal "
             "directions."),
    PageSpec("Explore", "app_pages/interpolation.py", "Interpolation", ":material/linear_scale:",
             "walk between two digits in latent space (linear or spherical) versus a pixel cross-fade."),
    PageSpec("Learn", "app_pages/beta_lab.py", "β/KL Lab", ":material/balance:",
             "train several β side by side and watch rate and distortion trade off; cause posterior collapse and "
             "fix it with KL annealing or free bits."),
    PageSpec("Learn", "app_pages/elbo_bounds.py", "ELBO & Bounds", ":material/functions:",
             "the ELBO's two terms on a real digit, importance-weighted bounds rising towards log p(x)."),
    PageSpec("Learn", "app_pages/exact_identity.py", "Exact Identity (Thm 1.2)", ":material/equal:",
             "log p(x) = ELBO + KL(q‖p(z|x)) checked to machine precision on a model where everything is "
             "tractable."),
    PageSpec("Learn", "app_pages/reparameterisation.py", "Reparameterisation (Thm 2.1)", ":material/casino:",
             "why z = μ + σ·ε gives low-variance gradients, against REINFORCE."),
    PageSpec("Apply", "app_pages/drawing_board.py", "Drawing Board", ":material/draw:",
             "draw a digit and see where it lands, its reconstruction and its neighbours."),
    PageSpec("Apply", "app_pages/conditional.py", "Conditional VAE", ":material/pin:",
             "pick a class and a style; the same z across all ten digits."),
    PageSpec("Apply", "app_pages/anomaly.py", "Anomaly Detection", ":material/warning:",
             "score odd inputs by −ELBO and reconstruction error; ROC curves and AUC."),
    PageSpec("Apply", "app_pages/inpainting.py", "Inpainting", ":material/healing:",
             "fill in a masked half of a digit by iterated encode–decode."),
    PageSpec("Apply", "app_pages/latent_editing.py", "Latent Editing", ":material/brush:",
             "add ink, slant or 'more like a 7' to any digit."),
    PageSpec("Apply", "app_pages/compression.py", "Compression", ":material/compress:",
             "what sending a latent code costs in bits (lossy), next to lossless zlib and PNG of the same "
             "digits."),
    PageSpec("Models", "app_pages/train_models.py", "Train & Models", ":material/model_training:",
             "train your own model with live curves, save, upload and download checkpoints."),
    PageSpec("Beyond digits", "app_pages/words_map.py", "Word Map", ":material/text_fields:",
             "a 2-D VAE over English words: the map of words, decoding any point, interpolation between words."),
    PageSpec("Beyond digits", "app_pages/words_collapse.py", "Posterior Collapse (Text)", ":material/visibility_off:",
             "a strong text decoder ignores z (KL → 0); KL annealing and word dropout bring it back."),
    PageSpec("Beyond digits", "app_pages/molecules.py", "Molecule VAE", ":material/science:",
             "SMILES of real molecules: a latent map coloured by logP, decoded drawings, interpolation, "
             "validity, uniqueness and novelty."),
    PageSpec("Beyond digits", "app_pages/sprites_beta.py", "Disentangled Sprites", ":material/category:",
             "does β > 1 give one factor per latent dimension? MIG against β, KL per dimension, traversals."),
    PageSpec("Beyond digits", "app_pages/generation_quality.py", "Generation Quality", ":material/grading:",
             "MNIST-specific FID and Inception Score of every model's prior samples, with sanity references."),
    PageSpec("Beyond digits", "app_pages/recommender.py", "Recommender", ":material/movie:",
             "Mult-VAE over MovieLens-100k: users on a latent map, top-10 movies decoded in the page, your own "
             "picks encoded live, the β story and two baselines."),
)


def sections() -> dict[str, list[PageSpec]]:
    """The pages grouped by section, in order."""
    out: dict[str, list[PageSpec]] = {}
    for p in PAGES:
        out.setdefault(p.section, []).append(p)
    return out
