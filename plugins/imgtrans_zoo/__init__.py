"""The ``zoo`` translator: super-resolution and restoration models of spandrel's architectures."""
