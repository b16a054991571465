"""Every tuning constant of the kernels and the chunked ops, once, with why it is what it is.

Sizes are in bytes. They were chosen by measuring the reference convnet, the MLP and the
LSTM with ``make bench`` (benchmarks/run.py) on a 2-core machine with 1 MB of L2 cache per
core; the numbers belong to that output, not here. Change one, run ``make bench`` before
and after, alternating the two builds a few times.
"""

# --- chunks of a batch (ops/_chunking.py) ---------------------------------------------------
# The number of chunks a batch is cut into is rounded up to a multiple of this, so that
# every core gets as many chunks (and the chunks, hence the sums, do not depend on the
# thread count).
CHUNKS_MULTIPLE = 4
# Products over a chunk run over at most this many rows per BLAS call: OpenBLAS is slower
# on long, thin products (K and F small, many rows) in one call than in row blocks.
GEMM_ROWS = 1024

# --- one conv layer, ops/conv.py (Conv, ConvBias, ConvBiasRelu) -----------------------------
# Columns up to this size are kept from forward for the kernel gradient instead of being
# rebuilt in backward (the reference convnet's largest is 18 MB at batch 128).
CONV_KEEP_COLS_BYTES = 64 << 20
# Columns that are not kept (inference, or too large) are built this many bytes at a time.
CONV_CHUNK_COLS_BYTES = 4 << 20
# An epilogue (a bias, bias + ReLU) follows the product in row blocks of this size, each
# still in cache when the epilogue reads it.
CONV_EPILOGUE_BYTES = 1 << 20
# Inside a step where the ops split their work over the cores (``threads.owning_cores``),
# a chunk's columns or outputs take at most this many bytes.
CONV_SPLIT_CHUNK_BYTES = 1 << 20

# --- conv + ReLU + max-pool as one op, ops/conv_pool.py -------------------------------------
# A chunk's columns or conv outputs, whichever is larger, take at most this many bytes
# (about what one core's L2 cache holds beside BLAS's packed panels). Inference keeps less
# per chunk (no argmax, no gradient), so its chunks are larger.
CONV_POOL_CHUNK_BYTES = 1 << 20
CONV_POOL_INFERENCE_CHUNK_BYTES = 2 << 20
# Columns up to this size are kept from forward for the kernel gradient; larger ones are
# rebuilt chunk by chunk in backward, where they are still in cache for the product. Lower
# than CONV_KEEP_COLS_BYTES: here keeping them costs forward more (they leave the cache
# between chunks) than rebuilding them costs backward, for the reference net's second conv.
CONV_POOL_KEEP_COLS_BYTES = 4 << 20

# --- batch normalization, ops/normalization.py ----------------------------------------------
# Channels-last statistics go through the bn_* kernels in row blocks of about this many
# bytes of x (a multiple of CHUNKS_MULTIPLE of them, shared by the cores where the step
# allows); a batch that fits one block is one block, with no thread to wake.
BN_BLOCK_BYTES = 1 << 20

# --- matrix products, ops/products.py -------------------------------------------------------
# Inside a step that owns the cores, Linear runs its forward product as two halves of the
# rows at once, and its two backward products at once, one per core, when each has at
# least this many multiply-adds (smaller ones are faster on BLAS's own threads).
CONCURRENT_MIN_FMA = 1 << 23

# --- recurrences, ops/recurrent.py ----------------------------------------------------------
# Each part of an LSTM batch split over the cores gets at least this many rows (fewer make
# BLAS's products too small to be worth a thread).
LSTM_MIN_ROWS_PER_PART = 32
