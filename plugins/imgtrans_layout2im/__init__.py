"""Built-in layout-to-image translator after layout2im (Zhao, Meng, Yin, Sigal, "Image
Generation from Layout", CVPR 2019): an image generated from a list of labelled boxes.
``layouts`` reads layout files and COCO annotations (no torch at import), ``networks`` holds
the reference generator and discriminators, ``synthetic`` a small shapes-and-colours dataset
for the demo model."""
