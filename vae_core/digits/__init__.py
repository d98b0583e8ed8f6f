"""The digit family (``mlp-vae``): MLP VAEs / CVAEs on 28x28 images (MNIST, Fashion-MNIST, KMNIST).

* ``model``       -- :class:`VAE` / :class:`CVAE` (encode, decode, reparameterise, sample; the label rules);
* ``fast_step``   -- the hand-written forward/backward of a ReLU MLP VAE (the training fast path);
* ``train``       -- ``TrainConfig``, ``Trainer``, ``train()``; ``cli`` its command (``python -m vae_core train``);
* ``checkpoint``  -- the family's validator, metadata and save / load (over the generic ``vae_core.pair_io``);
* ``evaluate``    -- test -ELBO and IWAE bounds in bounded memory (``python -m vae_core evaluate``);
* ``sample``      -- prior samples of image models as a PNG grid (``python -m vae_core sample``);
* ``data`` / ``drawing`` -- where digits come from; a drawing or an upload as a digit;
* ``user_data`` / ``import_model`` -- a user's own data set (.npz / .npy / .zip of class folders, checked and
  capped) and a VAE trained elsewhere imported from its safetensors state dict (``python -m vae_core
  import-model``);
* ``analysis``    -- the β/KL Lab: rate and distortion, posterior collapse;
* ``quality``     -- the MNIST classifier (family ``mnist-classifier``) and FID / IS of prior samples;
* ``applications`` (package) -- anomaly scores and OOD sets, inpainting, editing, compression, q(z|x) of one
  image, CVAE helpers.

The sprites family reuses ``model`` and ``train`` with a 4096-pixel input.
"""
