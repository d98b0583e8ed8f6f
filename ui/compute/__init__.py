"""What the pages compute, as plain functions of arrays and models that return small dataclasses: no
Streamlit, so tests/ui/ checks them directly. One module per page (or group of pages); the maths itself is in
vae_core, these functions put its pieces together the way a page shows them."""
