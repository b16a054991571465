"""LSTM(128) train step at batch 128 over 28x28 sequences: shendu vs PyTorch's CPU nn.LSTM.

Both models are LSTM(128) -> Dense(10) on (128, 28, 28) inputs, from the same initial
weights, trained one step with Adam and softmax cross-entropy (shendu through ``train_on_batch``, PyTorch with an
explicit step). The two are timed in alternating blocks (10 shendu steps, 10 PyTorch steps, ...) so
that load from other processes on a shared machine hits both alike, with a pause between
blocks: both thread pools spin-wait after work (PyTorch's OpenMP for up to 200 ms), and
step-by-step interleaving measured each library mostly slowed by the other's spinning
threads. The row reports the medians. Threads are left at their defaults (OpenBLAS and
PyTorch each use all cores).

    python benchmarks/bench_rnn.py [--steps 30]
"""
import argparse
import os
import time

import numpy as np


def shendu_model(B, T, D, H, seed=0):
    """The shendu model (LSTM(H) -> Dense(10, softmax), Adam) and one batch (x, y)."""
    import shendu
    from shendu.layers import LSTM, Dense
    shendu.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((B, T, D)).astype(np.float32)
    y = rng.integers(0, 10, B)
    model = shendu.Sequential([shendu.Input((T, D)), LSTM(H), Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model, x, y


def torch_model(model):
    """The same network in PyTorch with ``model``'s weights; it returns the logits.

    Keras's gate order (i, f, c, o) is PyTorch's (i, f, g, o); Keras has one bias,
    PyTorch two (b_ih gets it, b_hh is zero)."""
    import torch
    from torch import nn
    kernel, rec, bias, dk, db = [np.asarray(w) for w in model.get_weights()]
    D, H = kernel.shape[0], rec.shape[0]

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm, self.dense = nn.LSTM(D, H, batch_first=True), nn.Linear(H, 10)

        def forward(self, x):
            return self.dense(self.lstm(x)[0][:, -1])

    net = Net()
    with torch.no_grad():
        for name, v in [("weight_ih_l0", kernel.T), ("weight_hh_l0", rec.T), ("bias_ih_l0", bias),
                        ("bias_hh_l0", np.zeros_like(bias))]:
            getattr(net.lstm, name).copy_(torch.from_numpy(np.ascontiguousarray(v)))
        net.dense.weight.copy_(torch.from_numpy(np.ascontiguousarray(dk.T)))
        net.dense.bias.copy_(torch.from_numpy(db))
    return net


def shendu_step(B, T, D, H):
    model, x, y = shendu_model(B, T, D, H)
    return lambda: model.train_on_batch(x, y)


def torch_step(B, T, D, H):
    """One PyTorch train step (Adam, cross-entropy) from the same weights and batch."""
    import torch
    model, x, y = shendu_model(B, T, D, H)
    net = torch_model(model).train()
    x, y = torch.from_numpy(x), torch.from_numpy(y)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, eps=1e-7)

    def step():
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(x), y).backward()
        opt.step()
    return step


def main(argv=None):
    from run import rewarm
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=30)
    args = p.parse_args(argv)
    B, T, D, H = 128, 28, 28, 128
    fns = {"shendu": shendu_step(B, T, D, H), "torch": torch_step(B, T, D, H)}
    for f in fns.values():  # warm up (Numba compile or cache load, allocator, BLAS threads)
        f(), f(), f()
    times = {k: [] for k in fns}
    block = 10
    for _ in range(max(1, args.steps // block)):
        for k, f in fns.items():
            time.sleep(0.5)  # let the other library's spinning threads go to sleep
            rewarm(f)  # untimed, for both alike: see rewarm in run.py
            for _ in range(block):
                t = time.perf_counter()
                f()
                times[k].append(time.perf_counter() - t)
    med = {k: 1e3 * float(np.median(v)) for k, v in times.items()}
    import torch
    print(f"| benchmark | shendu ms | torch ms | ratio | notes |")
    print(f"| LSTM(128) train step, batch 128 x 28 steps x 28 | {med['shendu']:.2f} | {med['torch']:.2f} | "
          f"{med['shendu'] / med['torch']:.2f} | median of {len(times['torch'])} steps in alternating blocks; torch threads "
          f"{torch.get_num_threads()}, SHENDU_RNN_NUMBA={os.environ.get('SHENDU_RNN_NUMBA', '1')} |")
    return med


if __name__ == "__main__":
    main()
