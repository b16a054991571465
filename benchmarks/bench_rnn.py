"""LSTM(128) train step at batch 128 over 28x28 sequences: shendu vs PyTorch's CPU nn.LSTM.

Both models are LSTM(128) -> Dense(10) on (128, 28, 28) inputs, trained one step with
Adam and softmax cross-entropy (shendu through ``train_on_batch``, PyTorch with an
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


def shendu_step(B, T, D, H):
    import shendu
    from shendu.layers import LSTM, Dense
    shendu.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((B, T, D)).astype(np.float32)
    y = rng.integers(0, 10, B)
    model = shendu.Sequential([shendu.Input((T, D)), LSTM(H), Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return lambda: model.train_on_batch(x, y)


def torch_step(B, T, D, H):
    import torch
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    x = torch.tensor(rng.standard_normal((B, T, D)).astype(np.float32))
    y = torch.tensor(rng.integers(0, 10, B))
    lstm, dense = torch.nn.LSTM(D, H, batch_first=True), torch.nn.Linear(H, 10)
    opt = torch.optim.Adam(list(lstm.parameters()) + list(dense.parameters()))

    def step():
        opt.zero_grad()
        out, _ = lstm(x)
        torch.nn.functional.cross_entropy(dense(out[:, -1]), y).backward()
        opt.step()
    return step


def main(argv=None):
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
            f()
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
