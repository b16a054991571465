"""The counter-based hash behind dropout masks (splitmix64; Steele, Lea & Flood 2014).

Element i of a mask drawn with ``seed`` hashes the counter seed + i * GOLDEN to 64 bits;
its top 24 bits, read as an integer, are compared with ``dropout_threshold(rate)``.
The NumPy reference (``ops.random.dropout_apply``) and the Numba kernels
(``kernels/numba_cpu.py``) both take their constants from here, so they draw the same mask.
"""
import numpy as np

GOLDEN = np.uint64(0x9E3779B97F4A7C15)
M1 = np.uint64(0xBF58476D1CE4E5B9)
M2 = np.uint64(0x94D049BB133111EB)


def dropout_threshold(rate):
    """An element is kept when the top 24 bits of its hash, read as u * 2^24, are >= this."""
    return int(np.ceil(float(rate) * (1 << 24)))
