"""A character-level LSTM language model, written as a Keras program (``import shendu as keras``).

    python examples/char_rnn.py                                   # the Zen of Python (ships with Python)
    python examples/char_rnn.py --text /usr/share/common-licenses/GPL-3 --epochs 5

The default text is ``this.py``'s Zen of Python, which every Python installation carries
(ROT13-encoded in ``this.s``). The model reads windows of ``--seq-len`` characters and learns
to predict each next character (Embedding -> LSTM(return_sequences) -> Dense softmax over the
characters). Sampling then uses a *stateful* copy of the network with batch size 1, fed one
character at a time, so each new character costs one step instead of a whole window.
Takes about half a minute with the defaults on a 2-core machine.
"""
import argparse
import codecs
import time

import numpy as np

import shendu as keras
from shendu import layers


def load_text(path):
    if path:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    import contextlib
    import io
    with contextlib.redirect_stdout(io.StringIO()):  # `import this` prints the poem
        import this
    return codecs.decode(this.s, "rot13")


def make_windows(ids, seq_len, stride):
    """Inputs ids[i : i+L] and targets ids[i+1 : i+L+1] for i = 0, stride, 2*stride, ..."""
    starts = np.arange(0, len(ids) - seq_len - 1, stride)
    idx = starts[:, None] + np.arange(seq_len)[None, :]
    return ids[idx], ids[idx + 1]


def build_model(vocab, units, embed, batch_size=None, stateful=False):
    return keras.Sequential([
        keras.Input(shape=(None,), batch_size=batch_size, dtype="int64"),
        layers.Embedding(vocab, embed),
        layers.LSTM(units, return_sequences=True, stateful=stateful),
        layers.Dense(vocab, activation="softmax"),
    ])


def sample(model, chars, index, prime, length, temperature, rng):
    """Feed ``prime`` through the stateful model, then draw ``length`` characters."""
    model.layers[1].reset_states()
    out = list(prime)
    probs = None
    for ch in prime:
        probs = model.predict_on_batch(np.array([[index[ch]]]))[0, -1]
    for _ in range(length):
        logits = np.log(np.maximum(probs, 1e-12)) / temperature
        p = np.exp(logits - logits.max())
        p /= p.sum()
        nxt = int(rng.choice(len(chars), p=p))
        out.append(chars[nxt])
        probs = model.predict_on_batch(np.array([[nxt]]))[0, -1]
    return "".join(out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--text", default=None, help="a UTF-8 text file (default: the Zen of Python)")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seq-len", type=int, default=40)
    parser.add_argument("--units", type=int, default=128)
    parser.add_argument("--embed", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--sample-length", type=int, default=300)
    parser.add_argument("--temperature", type=float, default=0.5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    keras.utils.set_random_seed(args.seed)
    text = load_text(args.text)
    chars = sorted(set(text))
    index = {c: i for i, c in enumerate(chars)}
    ids = np.array([index[c] for c in text], dtype=np.int64)
    stride = 3 if len(text) < 20000 else args.seq_len // 2
    x, y = make_windows(ids, args.seq_len, stride)
    print(f"{len(text)} characters, {len(chars)} distinct; {len(x)} windows of {args.seq_len}")

    model = build_model(len(chars), args.units, args.embed)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=3e-3),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    start = time.perf_counter()
    history = model.fit(x, y, batch_size=args.batch_size, epochs=args.epochs, verbose=0)
    loss, acc = history.history["loss"][-1], history.history["accuracy"][-1]
    print(f"trained {args.epochs} epochs in {time.perf_counter() - start:.1f} s: "
          f"loss {history.history['loss'][0]:.3f} -> {loss:.3f}, next-character accuracy {acc:.3f}")

    sampler = build_model(len(chars), args.units, args.embed, batch_size=1, stateful=True)
    sampler.set_weights(model.get_weights())
    prime = text[:20]
    rng = np.random.default_rng(args.seed)
    print("--- sample (primed with %r, temperature %.2f) ---" % (prime, args.temperature))
    print(sample(sampler, chars, index, prime, args.sample_length, args.temperature, rng))
    return loss, acc


if __name__ == "__main__":
    main()
