"""Recommender: Mult-VAE (Liang et al. 2018) over MovieLens-100k -- the users' μ on a map with the top-10
movies decoded in the page under the pointer, your own picks encoded in the page, the β annealing curve,
the multinomial against the notes' Bernoulli version, and the popularity / EASE baselines.
"""

from ui.views import recommender as rv


def main() -> None:
    rv.intro()
    have_data = rv.data_available()  # else a message saying how to install MovieLens-100k
    if have_data:
        rv.explore_section()
    rv.beta_section()
    if have_data:
        rv.compare_section()
    rv.source_section()


main()
