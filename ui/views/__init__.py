"""Views that serve exactly one page, each module named after its page (app_pages/<same name>.py):

- ``latent_map``         Latent Map: the map figure, selection panel, decoded lattice
- ``decoder_sliders``    Decoder Sliders: the slider panel, its callbacks and ``start_at`` (the one helper other pages
                         call to open a z in Decoder Sliders: that page owns its keys)
- ``beta_lab``           β/KL Lab: its sections (sweep plane and views, collapse panel, fixes), cached evaluations;
  ``beta_lab_figures``   its figures (rate–distortion plane, KL per dimension, maps, collapse curves);
  ``beta_lab_quality``   its FID / IS table of the shipped models
- ``elbo_bounds``        ELBO & Bounds: its section "Which likelihood?"
- ``recommender``        Recommender: the Mult-VAE page's sections

Widgets shared by several pages stay in ui/ (pickers, images, plots, truth_views, jobs_view, live, ...)."""
