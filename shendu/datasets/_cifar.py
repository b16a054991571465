"""The loader shared by CIFAR-10 and CIFAR-100: records read from the binary .tar.gz."""
import numpy as np

from . import _loader
from ._formats import read_cifar_records, read_tar_members


def load_cifar(name, train_members, test_members, label_bytes, path=None):
    """Return ``((x_train, labels_train), (x_test, labels_test))`` of one CIFAR archive.

    Labels come back with one column per label byte of the records.
    """
    (archive,) = _loader.fetch(name, path).values()
    raw = read_tar_members(archive, [*train_members, *test_members])

    def concat(members):
        parts = [read_cifar_records(raw[m], label_bytes, f"{archive}:{m}") for m in members]
        return (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]))

    return concat(train_members), concat(test_members)
