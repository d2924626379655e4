"""The CycleGAN image pool: the discriminator sees a history of generated images, not only
the latest ones (Shrivastava et al. 2017), which stabilises training."""

from __future__ import annotations

import torch


class ImagePool:
    """Stores up to ``size`` generated images. Once full, each new image is returned as is
    with probability 0.5, or swapped with a random stored one that it replaces.

    Randomness comes from ``generator`` so a resumed run continues identically.
    """

    def __init__(self, size: int = 50, generator: torch.Generator | None = None) -> None:
        self.size = size
        self.images: list[torch.Tensor] = []
        self.generator = generator

    def query(self, images: torch.Tensor) -> torch.Tensor:
        if self.size == 0:
            return images
        out = []
        for image in images.detach():
            image = image.unsqueeze(0)
            if len(self.images) < self.size:
                self.images.append(image.clone())
                out.append(image)
            elif torch.rand((), generator=self.generator).item() > 0.5:
                index = int(torch.randint(0, self.size, (), generator=self.generator))
                out.append(self.images[index].clone())
                self.images[index] = image.clone()
            else:
                out.append(image)
        return torch.cat(out, 0)

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {"images": torch.cat(self.images, 0) if self.images else torch.empty(0)}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        stored = state["images"]
        self.images = [stored[i:i + 1].clone() for i in range(stored.shape[0])] if stored.numel() else []
