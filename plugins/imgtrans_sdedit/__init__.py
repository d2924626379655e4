"""SDEdit (Meng et al., ICLR 2022): edit or realise a guide image (a photo, a stroke painting)
with a pixel-space diffusion model, by noising it to an intermediate level ``t0`` and running
the reverse diffusion from there. The UNet and the schedulers are diffusers'; models are
loaded from local diffusers model folders (for example the ``google/ddpm-*`` Hub models).

``imgtrans_sdedit.sdedit`` holds the algorithm (plain functions on tensors) and the model
folder loader; ``imgtrans_sdedit.translator`` the ``sdedit`` translator and its options.
"""
