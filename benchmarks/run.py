"""shendu vs PyTorch on the CPU, side by side in one run: the suite behind ``make bench``.

    python benchmarks/run.py [--steps 20] [--json build/bench.json] [--quick]

Rows (``ENTRIES`` below; add one by appending a ``Bench``):
  * the reference convnet (``shendu.examples.mnist_convnet``) train step at batch 128,
  * 10,000-image inference with that convnet in batches of 1,000,
  * an MLP 784-512-512-10 train step at batch 128,
  * an LSTM(128) -> Dense(10) train step at batch 128 over 28 steps of 28 features
    (the step of ``benchmarks/bench_rnn.py``),
each for shendu with its fast kernels, shendu with the plain NumPy references
(``SHENDU_KERNELS=numpy``'s path) and PyTorch eager (CPU, ``torch.set_num_threads`` = the
cores shendu uses); PyTorch columns read "n/a" when torch is not installed.

Method: the same network and the same initial weights in both frameworks; before
timing, an equality check that both compute the same loss (inference mode) from those
weights within float32 tolerance. Warm-up (the first calls: Numba compilation, caches,
allocator) is excluded and reported separately; the timed figure is the median of
``--steps`` repetitions. Frameworks are timed in alternating blocks with a pause between
them, so that load from other processes hits both alike and neither runs while the
other's thread pool is still spinning (PyTorch's OpenMP threads spin for up to 200 ms
after work). GFLOP/s counts the multiply-adds of the convolutions and dense layers
(forward, plus twice that for a train step's backward); "% peak" relates it to a
float32 matrix product of 2048^3 measured in the same run.

Then: the compile cost of a first fit on a cold Numba cache, the peak memory (peak
RSS, VmHWM) of a short training run per framework in fresh processes, and the loop-overhead
benchmark (``benchmarks/loop_overhead.py``).
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)


def have_torch():
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


# --- the networks -----------------------------------------------------------------------

def mnist_data():
    import shendu
    (x, y), (xt, yt) = shendu.datasets.mnist.load_sample()
    x = np.concatenate([x, xt]).reshape(-1, 28, 28, 1).astype(np.float32) / np.float32(255)
    return x, np.concatenate([y, yt]).astype(np.int64)


def shendu_convnet(kernels):
    import shendu
    from shendu.examples.mnist_convnet import build_model
    shendu.config.set_backend_kernels(kernels)
    shendu.utils.set_random_seed(0)
    model = build_model()
    model.compile(loss="sparse_categorical_crossentropy", optimizer=shendu.optimizers.Adam(),
                  metrics=["accuracy"])
    return model


def shendu_mlp(kernels):
    import shendu
    from shendu import layers
    shendu.config.set_backend_kernels(kernels)
    shendu.utils.set_random_seed(0)
    model = shendu.Sequential([shendu.Input((784,)), layers.Dense(512, activation="relu"),
                               layers.Dense(512, activation="relu"),
                               layers.Dense(10, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", optimizer=shendu.optimizers.Adam())
    return model


def torch_convnet(model):
    """The convnet in PyTorch (NCHW, the default layout), with ``model``'s weights."""
    import torch
    from torch import nn
    net = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Dropout(0.25),
                        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Dropout(0.25),
                        nn.Flatten(), nn.Linear(1600, 128), nn.ReLU(), nn.Dropout(0.5),
                        nn.Linear(128, 10))
    w = [np.asarray(v) for v in model.get_weights()]
    with torch.no_grad():
        for layer, (k, b) in zip([net[0], net[4]], [(w[0], w[1]), (w[2], w[3])]):
            layer.weight.copy_(torch.from_numpy(k.transpose(3, 2, 0, 1).copy()))
            layer.bias.copy_(torch.from_numpy(b))
        # shendu flattens (h, w, c); PyTorch flattens (c, h, w)
        k = w[4].reshape(5, 5, 64, 128).transpose(2, 0, 1, 3).reshape(1600, 128)
        net[9].weight.copy_(torch.from_numpy(k.T.copy()))
        net[9].bias.copy_(torch.from_numpy(w[5]))
        net[12].weight.copy_(torch.from_numpy(w[6].T.copy()))
        net[12].bias.copy_(torch.from_numpy(w[7]))
    return net


def torch_mlp(model):
    import torch
    from torch import nn
    net = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(),
                        nn.Linear(512, 10))
    w = [np.asarray(v) for v in model.get_weights()]
    with torch.no_grad():
        for i, layer in enumerate([net[0], net[2], net[4]]):
            layer.weight.copy_(torch.from_numpy(w[2 * i].T.copy()))
            layer.bias.copy_(torch.from_numpy(w[2 * i + 1]))
    return net


def torch_loss(net, x, y, nchw):
    import torch
    net.eval()
    with torch.no_grad():
        xt = torch.from_numpy(x.transpose(0, 3, 1, 2).copy() if nchw else x)
        return float(torch.nn.functional.cross_entropy(net(xt), torch.from_numpy(y)))


def shendu_loss(model, x, y):
    p = np.asarray(model.predict(x, verbose=0), np.float64)
    return float(-np.mean(np.log(p[np.arange(len(y)), y])))


# --- the benchmarks ---------------------------------------------------------------------

@dataclass
class Bench:
    """One row: ``setup(framework, kernels)`` returns a callable that runs one unit."""
    name: str
    setup: object
    gflop: float                 # arithmetic of one unit (multiply-adds x 2)
    unit: str = "ms"
    notes: list = field(default_factory=list)


B = 128
CONV_FWD_MFLOP = 2 * (26 * 26 * 32 * 9 + 11 * 11 * 64 * 288 + 1600 * 128 + 128 * 10) / 1e6
MLP_FWD_MFLOP = 2 * (784 * 512 + 512 * 512 + 512 * 10) / 1e6
LSTM_SHAPE = (28, 28, 128)  # steps, features, units
LSTM_FWD_MFLOP = 2 * (28 * (28 + 128) * 4 * 128 + 128 * 10) / 1e6


def _equal_check(model, net, x, y, nchw, what):
    a, b = shendu_loss(model, x, y), torch_loss(net, x, y, nchw)
    if abs(a - b) > 1e-4 * max(1.0, abs(a)):
        raise SystemExit(f"{what}: shendu and PyTorch disagree on the loss of the same weights: "
                         f"{a:.6f} vs {b:.6f}")
    return a


def _cycling(items):
    """Each call: the next of ``items``, round and round."""
    it = iter(range(10 ** 9))
    return lambda: items[next(it) % len(items)]


def _shendu_train_step(model, batches):
    nxt = _cycling(batches)
    return lambda: model.train_on_batch(*nxt())


def _torch_train_step(net, batches):
    """One Adam step of ``net`` on the next batch (inputs already in the net's layout)."""
    import torch
    net.train()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, eps=1e-7)
    nxt = _cycling([(torch.from_numpy(np.ascontiguousarray(xb)), torch.from_numpy(yb))
                    for xb, yb in batches])

    def step():
        xb, yb = nxt()
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(xb), yb).backward()
        opt.step()
    return step


def convnet_train(framework, kernels):
    x, y = mnist_data()
    model = shendu_convnet(kernels)
    model.predict(x[:2], verbose=0)  # build the weights
    batches = [(x[i:i + B], y[i:i + B]) for i in range(0, 20 * B, B)]
    if framework == "shendu":
        return _shendu_train_step(model, batches)
    net = torch_convnet(model)
    _equal_check(model, net, x[:512], y[:512], True, "convnet")
    return _torch_train_step(net, [(xb.transpose(0, 3, 1, 2), yb) for xb, yb in batches])


def convnet_infer(framework, kernels):
    x, y = mnist_data()
    x = x[:10000]
    model = shendu_convnet(kernels)
    model.predict(x[:2], verbose=0)
    if framework == "shendu":
        return lambda: model.predict(x, batch_size=1000, verbose=0)
    import torch
    net = torch_convnet(model).eval()
    xt = torch.from_numpy(x.transpose(0, 3, 1, 2).copy())

    def infer():
        with torch.inference_mode():
            for i in range(0, len(xt), 1000):
                net(xt[i:i + 1000])
    return infer


def mlp_train(framework, kernels):
    x, y = mnist_data()
    x = x.reshape(len(x), 784)
    model = shendu_mlp(kernels)
    model.predict(x[:2], verbose=0)
    batches = [(x[i:i + B], y[i:i + B]) for i in range(0, 20 * B, B)]
    if framework == "shendu":
        return _shendu_train_step(model, batches)
    net = torch_mlp(model)
    _equal_check(model, net, x[:512], y[:512], False, "mlp")
    return _torch_train_step(net, batches)


def lstm_train(framework, kernels):
    """bench_rnn.py's LSTM step (the kernels column runs the Numba gate kernels, the NumPy
    one the reference loop of ``shendu.ops.recurrent``)."""
    import bench_rnn
    import shendu
    shendu.config.set_backend_kernels(kernels)
    if framework == "shendu":
        return bench_rnn.shendu_step(B, *LSTM_SHAPE)
    model, x, y = bench_rnn.shendu_model(B, *LSTM_SHAPE)
    _equal_check(model, bench_rnn.torch_model(model), x, y, False, "lstm")
    return bench_rnn.torch_step(B, *LSTM_SHAPE)

ENTRIES = [
    Bench("convnet train step (batch 128)", convnet_train, 3 * B * CONV_FWD_MFLOP / 1e3),
    Bench("convnet inference, 10k images (batches of 1000)", convnet_infer,
          10000 * CONV_FWD_MFLOP / 1e3),
    Bench("MLP 784-512-512-10 train step (batch 128)", mlp_train, 3 * B * MLP_FWD_MFLOP / 1e3),
    Bench("LSTM(128) train step (batch 128 x 28 steps x 28)", lstm_train,
          3 * B * LSTM_FWD_MFLOP / 1e3),
]

COLUMNS = [("shendu", True), ("shendu", False), ("torch", None)]
COLUMN_NAMES = {("shendu", True): "shendu (kernels)", ("shendu", False): "shendu (NumPy ref.)",
                ("torch", None): "PyTorch eager"}


def time_entry(bench, steps, block, pause):
    """{column: (median seconds, warm-up seconds)} timing columns in alternating blocks."""
    fns, warm, times = {}, {}, {}
    for col in COLUMNS:
        if col[0] == "torch" and not have_torch():
            continue
        fn = bench.setup(*col)
        _select(col)
        t = time.perf_counter()
        fn()  # the first call: compiles, allocates, builds
        warm[col] = time.perf_counter() - t
        fn()
        fns[col], times[col] = fn, []
    while any(len(v) < steps for v in times.values()):
        for col, fn in fns.items():
            _select(col)
            time.sleep(pause)
            rewarm(fn)
            for _ in range(min(block, steps - len(times[col]))):
                t = time.perf_counter()
                fn()
                times[col].append(time.perf_counter() - t)
    return {col: (statistics.median(v), warm[col]) for col, v in times.items()}


# Untimed calls after each pause, for every column alike. After a pause the machine
# needs a few tens of milliseconds of work before shendu's batch-split ops (the LSTM)
# run at their steady speed: their threads hand the GIL to each other and sleep between
# handoffs, and waking an idle core costs more until the guest's idle polling has
# adapted (measured: the first 3-4 LSTM steps after a 0.5 s sleep took 13 ms instead
# of 8; no such effect with the main thread spinning instead of sleeping, and none for
# PyTorch, whose OpenMP threads spin). A training loop never pauses, so the table
# reports the steady state.
REWARM_SECONDS = 0.1


def rewarm(fn, seconds=REWARM_SECONDS):
    """Call ``fn`` (at least once) until ``seconds`` have passed."""
    end = time.perf_counter() + seconds
    fn()
    while time.perf_counter() < end:
        fn()


def _select(col):
    """The kernel setting is process-wide: set the column's before running it."""
    if col[0] == "shendu":
        import shendu
        shendu.config.set_backend_kernels(col[1])


def blas_peak():
    a = np.ones((2048, 2048), np.float32)
    a @ a
    ts = []
    for _ in range(5):
        t = time.perf_counter()
        a @ a
        ts.append(time.perf_counter() - t)
    return 2 * 2048 ** 3 / min(ts) / 1e9


def blas_info():
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "threadpoolctl not installed"
    return ", ".join(f"{p.get('internal_api')} {p.get('architecture')} x{p.get('num_threads')}"
                     for p in threadpool_info() if p["user_api"] == "blas")


def fmt_time(s):
    return f"{s * 1000:.1f} ms" if s < 10 else f"{s:.2f} s"


# --- separate processes: compile cost and peak memory ----------------------------------

_FIT = """
import sys, time, resource, numpy as np
sys.path.insert(0, {root!r})
fw, steps = sys.argv[1], int(sys.argv[2])
t0 = time.perf_counter()
if fw == "torch":
    import torch
    torch.set_num_threads({threads})
import shendu
from shendu.examples.mnist_convnet import build_model
(x, y), _ = shendu.datasets.mnist.load_sample()
x = (x.reshape(-1, 28, 28, 1) / np.float32(255)).astype(np.float32)
shendu.utils.set_random_seed(0)
if fw == "torch":
    sys.path.insert(0, {here!r})
    from run import shendu_convnet, torch_convnet
    model = shendu_convnet(False); model.predict(x[:2], verbose=0)
    net = torch_convnet(model); net.train()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, eps=1e-7)
    xt, yt = torch.from_numpy(x.transpose(0, 3, 1, 2).copy()), torch.from_numpy(y.astype(np.int64))
    t0 = time.perf_counter()
    for i in range(steps):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(xt[i*128:(i+1)*128]), yt[i*128:(i+1)*128]).backward()
        opt.step()
else:
    shendu.config.set_backend_kernels(fw == "shendu")
    model = build_model()
    model.compile(loss="sparse_categorical_crossentropy", optimizer=shendu.optimizers.Adam(),
                  metrics=["accuracy"])
    t0 = time.perf_counter()
    model.fit(x[:steps * 128], y[:steps * 128], batch_size=128, epochs=1, verbose=0)
# VmHWM, not getrusage's ru_maxrss: the latter survives exec, so a child started from a
# big parent would report the parent's peak
hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM")]
peak = int(hwm[0].split()[1]) / 1024 if hwm else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(time.perf_counter() - t0, peak)
"""


def run_fit(framework, steps, threads, env=None):
    code = _FIT.format(root=ROOT, here=HERE, threads=threads)
    out = subprocess.run([sys.executable, "-c", code, framework, str(steps)], capture_output=True,
                         text=True, env=env, timeout=900)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    seconds, rss_mb = map(float, out.stdout.split()[-2:])
    return seconds, rss_mb


def compile_cost(threads):
    """First fit (3 steps) on a cold Numba cache vs the same fit with the cache warm."""
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        cold, _ = run_fit("shendu", 3, threads, env)
        warm, _ = run_fit("shendu", 3, threads, env)
    return cold, warm


def peak_memory(threads, steps=30):
    rows = {"shendu": run_fit("shendu", steps, threads)[1],
            "shendu-numpy": run_fit("shendu-numpy", steps, threads)[1]}
    if have_torch():
        rows["torch"] = run_fit("torch", steps, threads)[1]
    return rows


# --- main -------------------------------------------------------------------------------

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=20, help="timed repetitions per column")
    p.add_argument("--threads", type=int, default=None, help="threads for both (default: all cores)")
    p.add_argument("--json", default=None, help="also write the results here as JSON")
    p.add_argument("--quick", action="store_true", help="only the timing table")
    args = p.parse_args(argv)

    import shendu
    from shendu.kernels.threads import default_num_threads
    threads = args.threads or default_num_threads()
    shendu.config.set_num_threads(threads)
    if have_torch():
        import torch
        torch.set_num_threads(threads)
        torch_version = torch.__version__
    else:
        torch_version = None
    peak = blas_peak()
    info = {"machine": platform.processor() or platform.machine(), "threads": threads,
            "blas": blas_info(), "blas_peak_gflops": round(peak, 1), "numpy": np.__version__,
            "torch": torch_version}
    print(f"# shendu vs PyTorch, {threads} threads; BLAS: {info['blas']}; "
          f"float32 GEMM peak {peak:.0f} GFLOP/s; torch {torch_version or 'not installed'}")
    print()

    results = []
    for bench in ENTRIES:
        r = time_entry(bench, args.steps, block=5, pause=0.3)
        results.append((bench, r))

    head = [COLUMN_NAMES[c] for c in COLUMNS]
    print("| benchmark | " + " | ".join(head) + " | kernels / PyTorch | NumPy ref. / PyTorch "
          "| GFLOP/s (kernels) | % BLAS peak |")
    print("|---" * (len(head) + 5) + "|")
    rows = []
    for bench, r in results:
        cells = [fmt_time(r[c][0]) if c in r else "n/a" for c in COLUMNS]
        t_torch = r.get(("torch", None), (None,))[0]
        fast, ref = r[("shendu", True)][0], r[("shendu", False)][0]
        ratio = (lambda s: f"{s / t_torch:.2f}x" if t_torch else "n/a")
        gflops = bench.gflop / fast
        print(f"| {bench.name} | " + " | ".join(cells) + f" | {ratio(fast)} | {ratio(ref)} | "
              f"{gflops:.0f} | {100 * gflops / peak:.0f}% |")
        rows.append({"name": bench.name, "gflop": bench.gflop,
                     "median_s": {COLUMN_NAMES[c]: r[c][0] for c in r},
                     "warmup_s": {COLUMN_NAMES[c]: r[c][1] for c in r},
                     "ratio_vs_torch": {COLUMN_NAMES[c]: r[c][0] / t_torch for c in r} if t_torch else None})
    print()
    print("Warm-up (first call, excluded above): " + "; ".join(
        f"{bench.name.split(' (')[0]}: " + ", ".join(f"{COLUMN_NAMES[c]} {fmt_time(r[c][1])}" for c in r)
        for bench, r in results))
    out = {"info": info, "rows": rows}

    if not args.quick:
        cold, warm = compile_cost(threads)
        print(f"\nFirst fit (3 steps) on a cold Numba cache: {cold:.2f} s; with the cache warm: "
              f"{warm:.2f} s; compiling costs about {cold - warm:.2f} s once per machine.")
        mem = peak_memory(threads)
        print("Peak memory (peak RSS) of 30 training steps in a fresh process: " + ", ".join(
            f"{k} {v:.0f} MB" for k, v in mem.items())
            + (f"; shendu / PyTorch = {mem['shendu'] / mem['torch']:.2f}x" if "torch" in mem else ""))
        out.update(compile_cold_s=cold, compile_warm_s=warm, peak_rss_mb=mem)
        print("\nLoop overhead (benchmarks/loop_overhead.py):", flush=True)
        subprocess.run([sys.executable, os.path.join(HERE, "loop_overhead.py")], check=False)

    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)
        print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
