"""The reference MNIST convnet, data-parallel over MPI ranks (shendu.distributed).

    pip install 'shendu[mpi]'
    python examples/mnist_mpi.py --epochs 3                    # 1 process (the baseline)
    mpiexec -n 2 python examples/mnist_mpi.py --epochs 3       # 2 ranks on this machine
    mpiexec -n 16 -f hosts python examples/mnist_mpi.py        # MPICH, ranks over a host file
    srun -N 4 --ntasks-per-node=8 python examples/mnist_mpi.py # Slurm

``--batch-size`` is the GLOBAL batch: each of the N ranks takes batch_size / N samples
per step, so any rank count trains the same model as one process (up to summation order
and Dropout's masks, which each rank draws itself). Only rank 0 prints.
The learning rate is left alone unless ``--scale-lr linear|sqrt`` (see
shendu.distributed.scale_learning_rate). The last line gives the scaling figure:
seconds per epoch and training samples per second.
"""
import argparse
import sys
import time

import shendu
from shendu import distributed as dist
from shendu.examples.mnist_convnet import build_model, load


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=128, help="global batch (all ranks together)")
    p.add_argument("--learning-rate", type=float, default=1e-3)
    p.add_argument("--scale-lr", choices=["none", "linear", "sqrt"], default="none")
    p.add_argument("--data-path", default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--timeout", type=float, default=60.0)
    p.add_argument("--threads", type=int, default=None,
                   help="threads per rank (default: the node's cores / ranks on the node)")
    args = p.parse_args(argv)

    dist.init(timeout=args.timeout, num_threads=args.threads or "auto")  # threads per rank
    strategy = dist.DataParallel(timeout=args.timeout)
    rank, size = dist.rank(), dist.size()
    if args.batch_size % size:
        raise SystemExit(f"--batch-size {args.batch_size} is not a multiple of {size} ranks")
    ((x_train, y_train), (x_test, y_test)), message = load("mnist", args.data_path)
    shendu.utils.set_random_seed(args.seed)  # the same on every rank: the same initial model
    x_train = x_train.reshape(-1, 28, 28, 1) / 255.0
    x_test = x_test.reshape(-1, 28, 28, 1) / 255.0
    if rank == 0:
        print(message)
        print(f"{size} rank(s), {shendu.config.get_num_threads() if hasattr(shendu.config, 'get_num_threads') else '?'} "
              f"thread(s) each; global batch {args.batch_size} = {size} x {args.batch_size // size}")

    model = build_model()
    lr = dist.scale_learning_rate(args.learning_rate, args.scale_lr)
    model.compile(loss="sparse_categorical_crossentropy",
                  optimizer=shendu.optimizers.Adam(learning_rate=lr), metrics=["accuracy"],
                  distribute=strategy)
    times = []

    class EpochTimer(shendu.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.t0 = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            times.append(time.perf_counter() - self.t0)

    model.fit(x_train, y_train, batch_size=args.batch_size // size, epochs=args.epochs,
              verbose=1 if rank == 0 else 0, callbacks=[EpochTimer()])
    test_loss, test_acc = model.evaluate(x_test, y_test, batch_size=256 // size, verbose=0)
    if rank == 0:
        # The first epoch includes the JIT warm-up of the kernels: report the later ones.
        steady = times[1:] or times
        per_epoch = sum(steady) / len(steady)
        print(f"Test loss: {test_loss:.4f}  Test accuracy: {test_acc:.4f}")
        print(f"ranks={size} s/epoch={per_epoch:.2f} samples/s={len(x_train) / per_epoch:.0f} "
              f"(epoch times {', '.join(f'{t:.2f}' for t in times)})")
    return test_acc


if __name__ == "__main__":
    sys.exit(0 if main() is not None else 1)
