"""Shared training machinery: datasets, paired augmentation, GAN losses, image pool,
learning-rate schedules, checks before the first step, run records and resume, several
processes (torchrun) and the training loop."""
