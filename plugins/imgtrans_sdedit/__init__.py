"""SDEdit (Meng et al., ICLR 2022): edit or realise a guide image (a photo, a stroke painting)
with a pixel-space diffusion model, by noising it to an intermediate level ``t0`` and running
the reverse diffusion from there. The UNet and the schedulers are diffusers'; models are
loaded from local diffusers model folders (for example the ``google/ddpm-*`` Hub models).

Torch-free at import: ``translator`` (the ``sdedit`` translator), ``options`` (its options)
and ``folders`` (finding and checking model folders by their JSON files). With torch and
diffusers: ``sdedit`` (the algorithm as plain functions on tensors, and model loading),
``masks`` (reading and fitting masks) and ``training``.
"""
