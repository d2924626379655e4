"""Loading a layout2im generator and its vocabulary from any weights the translator accepts.

Apart from the translator so that the quality script can load models without importing the
translator (and the translator stays torch-free at import).
"""

from __future__ import annotations

from pathlib import Path

from imgtrans.plugin import InputError, ResolvedWeights, WeightsError, build_network, weights_at
from imgtrans_layout2im.config import Layout2ImConfig, load_generator
from imgtrans_layout2im.networks import Layout2ImGenerator
from imgtrans_layout2im.options import NAME
from imgtrans_layout2im.vocabulary import Vocabulary


def load_model(weights: ResolvedWeights | Path | str, vocab_path: str | None,
               translator: str = NAME) -> tuple[Layout2ImGenerator, Vocabulary]:
    """``(generator in eval mode, vocabulary)`` from an imgtrans checkpoint or run folder, a
    reference generator file (vocabulary from ``vocab_path``) or a folder holding one (and
    maybe ``vocab.json``). Raises ``WeightsError``."""
    weights = weights_at(weights)
    if weights.kind == "checkpoint":
        return _load_checkpoint(weights, vocab_path, translator)
    if weights.kind == "folder":
        files = sorted(p for p in weights.path.iterdir()
                       if p.suffix in (".safetensors", ".pth", ".pkl", ".pt") and "netd" not in p.name.lower())
        if not files:
            raise WeightsError(f"{weights.path}: no generator weights (.safetensors/.pth/.pkl) in this folder")
        vocab_file = weights.path / "vocab.json"
        vocab_path = vocab_path or (str(vocab_file) if vocab_file.is_file() else None)
        weights = weights_at(files[0])
    if vocab_path is None:
        raise WeightsError(f"{weights.path}: layout2im checkpoints do not contain their vocabulary; pass "
                           "--opt vocab=PATH (the dataset's vocab.json) or put vocab.json next to the weights")
    vocab = _read_vocabulary(vocab_path)
    net, config = load_generator(weights.state_dict())
    if config.vocab_size != len(vocab):
        raise WeightsError(f"{weights.path} was trained with {config.vocab_size} classes, but {vocab_path} "
                           f"has {len(vocab)} names: not its vocabulary")
    return net, vocab


def _read_vocabulary(path: str) -> Vocabulary:
    try:
        return Vocabulary.read(Path(path).expanduser())
    except InputError as exc:
        raise WeightsError(str(exc)) from None


def _load_checkpoint(weights: ResolvedWeights, vocab_path: str | None,
                     translator: str) -> tuple[Layout2ImGenerator, Vocabulary]:
    """A checkpoint written by ``imgtrans train layout2im``: the generator ``G``, its
    configuration and the vocabulary (``extra["vocab"]``) all come from the checkpoint."""
    checkpoint = weights.checkpoint.expect(translator)
    if "vocab" not in checkpoint.extra:
        raise WeightsError(f"{checkpoint.path}: a {translator} checkpoint without its vocabulary "
                           f"(no \"vocab\" in its description)")
    saved, state = weights.network("G")
    try:
        config = Layout2ImConfig.from_dict(saved)
        vocab = Vocabulary.from_json(checkpoint.extra["vocab"])
    except (TypeError, ValueError) as exc:
        raise WeightsError(f"{checkpoint.path}: bad layout2im description: {exc}") from None
    if config.vocab_size != len(vocab):
        raise WeightsError(f"{checkpoint.path}: its configuration has {config.vocab_size} classes "
                           f"but its vocabulary {len(vocab)}")
    if vocab_path is not None and _read_vocabulary(vocab_path) != vocab:
        raise WeightsError(f"{checkpoint.path} carries its own vocabulary, which differs from "
                           f"{vocab_path}; leave out --opt vocab")
    return build_network(config, state), vocab
