"""``python -m vae_core train|sample|evaluate|import-model ...``: the one command line (:mod:`vae_core.command`)."""

from .command import main

raise SystemExit(main())
