"""Built-in super-resolution translator (SRGAN/SRResNet, ESRGAN, Real-ESRGAN checkpoints)."""
