"""Weight initializers with Keras names and defaults.

Each is a callable ``init(shape, dtype) -> ndarray``. Random ones draw from an
explicit generator: their own ``seed`` if given, else shendu's global generator
(reset by ``shendu.utils.set_random_seed``), so the same seed gives the same weights.

Random values are drawn in the weight's own dtype (NumPy's generators draw float32 and
float64 directly) and scaled in place, so a float32 weight needs its own size in
memory, not a float64 draw plus a cast copy (3x as much).
"""
import math

import numpy as np

from .._registry import lookup, snake_case
from ..ops.random import as_generator


def _draw_dtype(dtype):
    """The float type to draw in: float32 for float32 (and float16) weights, else float64."""
    return np.float32 if np.dtype(dtype) in (np.float32, np.float16) else np.float64


def _normal(gen, shape, dtype, stddev=1.0, mean=0.0):
    x = gen.standard_normal(shape, dtype=_draw_dtype(dtype))
    x *= stddev
    x += mean
    return x.astype(dtype, copy=False)


def _uniform(gen, low, high, shape, dtype):
    """Uniform on [low, high): for float64 the very values of ``gen.uniform(low, high)``."""
    x = gen.random(shape, dtype=_draw_dtype(dtype))
    x *= high - low
    x += low
    return x.astype(dtype, copy=False)


def _fans(shape):
    """fan_in, fan_out as Keras computes them (conv kernels: receptive field x channels)."""
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = int(np.prod(shape[:-2]))
    return shape[-2] * receptive, shape[-1] * receptive


class Initializer:
    def __call__(self, shape, dtype=None):  # pragma: no cover - abstract
        raise NotImplementedError

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def _dtype(self, dtype):
        from ..config import floatx
        return np.dtype(dtype or floatx())


class _Seeded(Initializer):
    def __init__(self, seed=None):
        self.seed = seed
        self._rng = None if seed is None else np.random.default_rng(seed)

    def _gen(self):
        return self._rng if self._rng is not None else as_generator(None)

    def get_config(self):
        return {"seed": self.seed}


class Zeros(Initializer):
    def __call__(self, shape, dtype=None):
        return np.zeros(shape, self._dtype(dtype))


class Ones(Initializer):
    def __call__(self, shape, dtype=None):
        return np.ones(shape, self._dtype(dtype))


class Constant(Initializer):
    def __init__(self, value=0.0):
        self.value = value

    def __call__(self, shape, dtype=None):
        return np.full(shape, self.value, self._dtype(dtype))

    def get_config(self):
        return {"value": self.value}


class RandomNormal(_Seeded):
    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        super().__init__(seed)
        self.mean, self.stddev = mean, stddev

    def __call__(self, shape, dtype=None):
        return _normal(self._gen(), shape, self._dtype(dtype), self.stddev, self.mean)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class RandomUniform(_Seeded):
    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        super().__init__(seed)
        self.minval, self.maxval = minval, maxval

    def __call__(self, shape, dtype=None):
        return _uniform(self._gen(), self.minval, self.maxval, shape, self._dtype(dtype))

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


class TruncatedNormal(_Seeded):
    """Normal samples redrawn until within two standard deviations (as Keras)."""

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        super().__init__(seed)
        self.mean, self.stddev = mean, stddev

    def __call__(self, shape, dtype=None):
        dtype = self._dtype(dtype)
        x = _truncated(self._gen(), shape, dtype)
        x *= self.stddev
        x += self.mean
        return x.astype(dtype, copy=False)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


def _truncated(gen, shape, dtype):
    draw = _draw_dtype(dtype)
    x = gen.standard_normal(shape, dtype=draw)
    bad = np.abs(x) > 2
    while bad.any():  # each pass redraws ~5% of what is left: a handful of vector passes
        x[bad] = gen.standard_normal(int(bad.sum()), dtype=draw)
        bad = np.abs(x) > 2
    return x


class VarianceScaling(_Seeded):
    """Samples with variance ``scale / n``, n = fan_in, fan_out or their mean (``mode``).

    'truncated_normal': stddev = sqrt(scale / n) / 0.87962566 (the truncation's correction);
    'untruncated_normal': stddev = sqrt(scale / n); 'uniform': limit = sqrt(3 scale / n).
    """

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None):
        super().__init__(seed)
        if scale <= 0:
            raise ValueError(f"VarianceScaling: scale must be positive. Received: scale={scale}")
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(f"VarianceScaling: mode must be fan_in, fan_out or fan_avg. Received: mode={mode!r}")
        if distribution not in ("truncated_normal", "untruncated_normal", "uniform", "normal"):
            raise ValueError(f"VarianceScaling: unknown distribution {distribution!r}")
        self.scale, self.mode, self.distribution = scale, mode, distribution

    def __call__(self, shape, dtype=None):
        fan_in, fan_out = _fans(shape)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        var = self.scale / max(1.0, n)
        g, dtype = self._gen(), self._dtype(dtype)
        if self.distribution == "uniform":
            lim = math.sqrt(3 * var)
            return _uniform(g, -lim, lim, shape, dtype)
        if self.distribution == "untruncated_normal":
            return _normal(g, shape, dtype, math.sqrt(var))
        x = _truncated(g, shape, dtype)
        x *= math.sqrt(var) / 0.87962566103423978
        return x.astype(dtype, copy=False)

    def get_config(self):
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution,
                "seed": self.seed}


class GlorotUniform(VarianceScaling):
    def __init__(self, seed=None):
        super().__init__(1.0, "fan_avg", "uniform", seed)

    def get_config(self):
        return {"seed": self.seed}


class GlorotNormal(VarianceScaling):
    def __init__(self, seed=None):
        super().__init__(1.0, "fan_avg", "truncated_normal", seed)

    def get_config(self):
        return {"seed": self.seed}


class HeUniform(VarianceScaling):
    def __init__(self, seed=None):
        super().__init__(2.0, "fan_in", "uniform", seed)

    def get_config(self):
        return {"seed": self.seed}


class HeNormal(VarianceScaling):
    def __init__(self, seed=None):
        super().__init__(2.0, "fan_in", "truncated_normal", seed)

    def get_config(self):
        return {"seed": self.seed}


class LecunUniform(VarianceScaling):
    def __init__(self, seed=None):
        super().__init__(1.0, "fan_in", "uniform", seed)

    def get_config(self):
        return {"seed": self.seed}


class LecunNormal(VarianceScaling):
    def __init__(self, seed=None):
        super().__init__(1.0, "fan_in", "truncated_normal", seed)

    def get_config(self):
        return {"seed": self.seed}


class Orthogonal(_Seeded):
    """A (scaled) random orthogonal matrix from the QR decomposition of a normal one."""

    def __init__(self, gain=1.0, seed=None):
        super().__init__(seed)
        self.gain = gain

    def __call__(self, shape, dtype=None):
        if len(shape) < 2:
            raise ValueError(f"Orthogonal needs a shape of rank >= 2. Received: shape={shape}")
        rows, cols = int(np.prod(shape[:-1])), shape[-1]
        a = self._gen().standard_normal((max(rows, cols), min(rows, cols)))
        q, r = np.linalg.qr(a)
        q *= np.sign(np.diag(r))  # make the distribution uniform (Haar)
        if rows < cols:
            q = q.T
        # C order: Variables are updated in place and flattened by checks that expect it.
        return np.ascontiguousarray((self.gain * q[:rows, :cols]).reshape(shape), dtype=self._dtype(dtype))

    def get_config(self):
        return {"gain": self.gain, "seed": self.seed}


class Identity(Initializer):
    def __init__(self, gain=1.0):
        self.gain = gain

    def __call__(self, shape, dtype=None):
        dtype = self._dtype(dtype)
        return (self.gain * np.eye(*shape, dtype=dtype)).astype(dtype, copy=False)

    def get_config(self):
        return {"gain": self.gain}


from .stft import STFT  # noqa: E402  (it subclasses Initializer, defined above)

# Keras's other spellings of the same classes.
IdentityInitializer, OrthogonalInitializer, STFTInitializer = Identity, Orthogonal, STFT
zeros, ones, constant, identity, orthogonal, stft = Zeros, Ones, Constant, Identity, Orthogonal, STFT
random_normal, random_uniform, truncated_normal = RandomNormal, RandomUniform, TruncatedNormal
variance_scaling, glorot_uniform, glorot_normal = VarianceScaling, GlorotUniform, GlorotNormal
he_uniform, he_normal, lecun_uniform, lecun_normal = HeUniform, HeNormal, LecunUniform, LecunNormal

_CLASSES = [Zeros, Ones, Constant, RandomNormal, RandomUniform, TruncatedNormal, VarianceScaling,
            GlorotUniform, GlorotNormal, HeUniform, HeNormal, LecunUniform, LecunNormal,
            Orthogonal, Identity, STFT]
_TABLE = {c.__name__: c for c in _CLASSES}
_TABLE.update({snake_case(c.__name__): c for c in _CLASSES})
_TABLE.update({"zero": Zeros, "one": Ones, "normal": RandomNormal, "uniform": RandomUniform,
               "IdentityInitializer": Identity, "OrthogonalInitializer": Orthogonal,
               "STFTInitializer": STFT})


def get(identifier):
    """An initializer from a name ('glorot_uniform'), a config dict, a class, an instance or a callable."""
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        cls = lookup("initializer", _TABLE, identifier.get("class_name"))
        return cls.from_config(identifier.get("config", {}))
    if isinstance(identifier, str):
        return lookup("initializer", _TABLE, identifier)()
    if isinstance(identifier, type) and issubclass(identifier, Initializer):
        return identifier()
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret initializer identifier: {identifier!r}")


def serialize(init):
    if isinstance(init, Initializer):
        return {"class_name": type(init).__name__, "config": init.get_config()}
    return getattr(init, "__name__", None)


def deserialize(config, custom_objects=None):
    """An initializer from its serialized form (a name or a {'class_name', 'config'} dict);
    ``custom_objects`` may name extra classes."""
    if custom_objects and isinstance(config, dict) and config.get("class_name") in custom_objects:
        return custom_objects[config["class_name"]].from_config(config.get("config", {}))
    if custom_objects and isinstance(config, str) and config in custom_objects:
        return custom_objects[config]()
    return get(config)
