"""Built-in layout-to-image translator after layout2im (Zhao, Meng, Yin, Sigal, "Image
Generation from Layout", CVPR 2019): an image generated from a list of labelled boxes.

Torch-free at import: ``translator`` (the translator), ``options`` (its options),
``layouts``/``vocabulary``/``coco`` (layout files and COCO annotations) and ``synthetic``
(a small shapes-and-colours dataset for the demo model). With torch: ``networks`` and
``discriminators`` (the reference networks), ``config`` (their configuration, read off a
state dict), ``loading`` (weights to a ready generator), ``training`` and ``quality``.
"""
