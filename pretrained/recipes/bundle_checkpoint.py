"""Copy the inference part of a training run (description + chosen networks, no
discriminators or optimizer state) into a bundled weights folder.

    python pretrained/recipes/bundle_checkpoint.py RUN_DIR OUT_DIR NETWORK [NETWORK ...]
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

from imgtrans.training.checkpoint import META_FILE, resolve_checkpoint


def main() -> None:
    run, out, names = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3:]
    source = resolve_checkpoint(run)
    meta = json.loads((source / META_FILE).read_text())
    meta["networks"] = names
    meta.pop("discriminators", None)
    if "generators" in meta:
        meta["generators"] = {k: v for k, v in meta["generators"].items() if k in names}
    out.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy2(source / f"{name}.safetensors", out / f"{name}.safetensors")
    (out / META_FILE).write_text(json.dumps(meta, indent=2))
    print(f"bundled {', '.join(names)} from {source} into {out}")


if __name__ == "__main__":
    main()
