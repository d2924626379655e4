"""Copy the inference part of a training run (the chosen networks and their description; no
discriminators, no optimizer state) into a bundled weights folder, as a version-2
imgtrans checkpoint. Prints the folder's sha256 for the registry entry.

    python pretrained/recipes/bundle_checkpoint.py RUN_DIR OUT_DIR NETWORK [NETWORK ...]
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

from imgtrans.checkpoints import META_FILE, describe, read_checkpoint
from imgtrans.weights.cache import sha256_path


def main() -> None:
    run, out, names = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3:]
    source = read_checkpoint(run)
    document = describe(source.translator, {n: source.network_config(n) for n in names},
                        options=source.options, step=source.step, epoch=source.epoch,
                        extra=source.extra)
    out.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copyfile(source.path / f"{name}.safetensors", out / f"{name}.safetensors")
    (out / META_FILE).write_text(json.dumps(document, indent=2))
    print(f"bundled {', '.join(names)} from {source.path} into {out}; sha256 {sha256_path(out)}")


if __name__ == "__main__":
    main()
