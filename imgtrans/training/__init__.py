"""Shared training machinery: datasets, paired augmentation, GAN losses, image pool,
learning-rate schedules, self-describing checkpoints and the training loop."""
