"""A tiny character-level GPT, written as a Keras program (``import shendu as keras``).

    python examples/tiny_gpt.py                       # the Zen of Python (ships with Python)
    python examples/tiny_gpt.py --text some.txt --epochs 20 --blocks 4 --dim 128

Token embedding + learnt position embedding, then ``--blocks`` pre-norm transformer blocks
(LayerNormalization -> MultiHeadAttention(use_causal_mask=True) -> residual,
LayerNormalization -> Dense(4 d, gelu) -> Dense(d) -> residual), a final LayerNormalization
and a Dense layer giving the next character's logits at every position. The causal mask lets
position t see characters 0..t only, so one window trains T predictions at once. Sampling
re-reads the last ``--seq-len`` characters for each new one (no key/value cache yet).
"""
import argparse
import time

import numpy as np

import shendu as keras
from shendu import layers, ops


class PositionEmbedding(layers.Layer):
    """Adds a learnt vector per position: y[:, t] = x[:, t] + embeddings[t], t < sequence_length."""

    def __init__(self, sequence_length, **kwargs):
        super().__init__(**kwargs)
        self.sequence_length = int(sequence_length)

    def build(self, input_shape):
        self.embeddings = self.add_weight((self.sequence_length, input_shape[-1]),
                                          "glorot_uniform", name="embeddings")

    def call(self, inputs):
        return inputs + self.embeddings[:inputs.shape[1]]

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "sequence_length": self.sequence_length}


def build_model(vocab, seq_len, dim, heads, blocks, dropout=0.0):
    ids = keras.Input(shape=(None,), dtype="int64")
    x = layers.Embedding(vocab, dim)(ids)
    x = PositionEmbedding(seq_len)(x)
    for _ in range(blocks):
        h = layers.LayerNormalization(epsilon=1e-5)(x)
        h = layers.MultiHeadAttention(heads, dim // heads, dropout=dropout)(
            h, h, use_causal_mask=True)
        x = layers.Add()([x, h])
        h = layers.LayerNormalization(epsilon=1e-5)(x)
        h = layers.Dense(4 * dim, activation="gelu")(h)
        x = layers.Add()([x, layers.Dense(dim)(h)])
    x = layers.LayerNormalization(epsilon=1e-5)(x)
    return keras.Model(ids, layers.Dense(vocab)(x))


def sample(model, chars, index, prime, length, seq_len, temperature, rng):
    out = [index[c] for c in prime]
    for _ in range(length):
        context = np.array([out[-seq_len:]], dtype=np.int64)
        logits = ops.convert_to_numpy(model(context, training=False))[0, -1] / temperature
        p = np.exp(logits - logits.max())
        out.append(int(rng.choice(len(chars), p=p / p.sum())))
    return "".join(chars[i] for i in out)


def _char_rnn_helpers():
    """The data helpers of the sibling example ``char_rnn.py`` (same text, same windows)."""
    import importlib.util
    import pathlib
    spec = importlib.util.spec_from_file_location(
        "char_rnn_example", pathlib.Path(__file__).with_name("char_rnn.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.load_text, mod.make_windows


def main(argv=None):
    load_text, make_windows = _char_rnn_helpers()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--text", default=None,
                        help="a UTF-8 text file (default: the Zen of Python)")
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--seq-len", type=int, default=64)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--blocks", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=3e-3)
    parser.add_argument("--sample-length", type=int, default=200)
    parser.add_argument("--temperature", type=float, default=0.6)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    keras.utils.set_random_seed(args.seed)
    text = load_text(args.text)
    chars = sorted(set(text))
    index = {c: i for i, c in enumerate(chars)}
    ids = np.array([index[c] for c in text], dtype=np.int64)
    x, y = make_windows(ids, args.seq_len, 4 if len(text) < 20000 else args.seq_len // 2)
    print(f"{len(text)} characters, {len(chars)} distinct; {len(x)} windows of {args.seq_len}")

    model = build_model(len(chars), args.seq_len, args.dim, args.heads, args.blocks)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=args.learning_rate),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    start = time.perf_counter()
    history = model.fit(x, y, batch_size=args.batch_size, epochs=args.epochs, verbose=0)
    losses = history.history["loss"]
    print(f"trained {args.epochs} epochs in {time.perf_counter() - start:.1f} s: "
          f"loss {losses[0]:.3f} -> {losses[-1]:.3f}")
    prime = text[:16]
    print(f"--- sample (primed with {prime!r}, temperature {args.temperature:.2f}) ---")
    print(sample(model, chars, index, prime, args.sample_length, args.seq_len, args.temperature,
                 np.random.default_rng(args.seed)))
    return losses


if __name__ == "__main__":
    main()
