"""Built-in pix2pix and CycleGAN translators (the junyanz/pytorch-CycleGAN-and-pix2pix
family). One package, because both translators run the same generator architectures and
load the same checkpoint layouts; two entry points (``pix2pix``, ``cyclegan``), so each is
listed, blocked and versioned as its own plugin."""
