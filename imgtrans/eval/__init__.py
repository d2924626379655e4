"""Evaluation: every metric and scorer of imgtrans, behind one ``imgtrans eval`` command.

* :mod:`~imgtrans.eval.metrics`: pure L1 / PSNR / SSIM, Y channel and border crop
* :mod:`~imgtrans.eval.pairs`: matching outputs with targets and inputs, reading them
* :mod:`~imgtrans.eval.paired`: per-pair metrics on files or arrays
* :mod:`~imgtrans.eval.distribution`: FID, KID and LPIPS through torchmetrics
* :mod:`~imgtrans.eval.run`: :func:`~imgtrans.eval.run.evaluate`, the whole evaluation
* :mod:`~imgtrans.eval.generate`: making the outputs first with a translator
* :mod:`~imgtrans.eval.report` and :mod:`~imgtrans.eval.html`: JSON and HTML reports
* :mod:`~imgtrans.eval.types`: settings and the measure contract plugins implement

Importing this package does not import torch; its modules do.
"""
