"""Elementwise math with ``keras.ops`` names: trigonometric and hyperbolic functions,
logs and exponentials, the error function, rounding, and the binary functions
(arctan2, hypot, logaddexp, mod, ...), plus the non-differentiable predicates,
logical and bitwise ops.

Each differentiable function is one row of a table: its forward, its derivative
and the math, so the whole set of rules reads on a few screens. The rows become
Functions (``Sin``, ``Arctan2``, ...) of two small shapes:

    unary:   y = f(x);     gx = gy * f'(x)          (f' may use x and y)
    binary:  y = f(a, b);  ga = gy * df/da,  gb = gy * df/db   (broadcasting as NumPy)

Integer and boolean inputs to a float function are cast to floatx first (Keras
gives ``sin`` of an int32 tensor as float32). Functions whose derivative is zero
almost everywhere (floor, sign, comparisons, ...) return tensors with no gradient.
"""
import math

import numpy as np

from ..autograd.function import Function
from ..autograd.tensor import Tensor, as_tensor
from ._util import broadcast_shapes, data_of
from .activation import _erf

_SQRT_PI = math.sqrt(math.pi)
_LN2 = math.log(2.0)
_LN10 = math.log(10.0)


def _erfc(x):
    """erfc(x) = 1 - erf(x) without the cancellation of 1 - erf for large x.

    For |x| < 2, 1 - erf(x) (erfc(2) = 0.0047, so at most ~2 digits are lost, well
    inside float64); beyond, the continued fraction
    erfc(x) = e^{-x^2}/sqrt(pi) * 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + ...)))), evaluated
    from a fixed depth; erfc(-x) = 2 - erfc(x).
    """
    a = np.abs(x.astype(np.float64))
    small = 1.0 - _erf(np.minimum(a, 2.0))
    z = np.maximum(a, 2.0)
    frac = z
    for k in range(60, 0, -1):  # loops over the fraction's depth, not over elements
        frac = z + (k / 2.0) / frac
    big = np.exp(-z * z) / _SQRT_PI / frac
    pos = np.where(a < 2.0, small, big)
    return np.where(x < 0, 2.0 - pos, pos).astype(x.dtype)


def _erfinv(y):
    """erfinv(y): Giles' single-precision approximation, then Newton steps on erf
    (each doubles the correct digits) to float64 precision; +-inf at +-1."""
    y64 = y.astype(np.float64)
    inside = np.abs(y64) < 1
    yc = np.where(inside, y64, 0.0)
    w = -np.log((1.0 - yc) * (1.0 + yc))
    w1, w2 = w - 2.5, np.sqrt(np.maximum(w, 5.0)) - 3.0
    p1 = 2.81022636e-08
    for c in (3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087, -0.00125372503,
              -0.00417768164, 0.246640727, 1.50140941):
        p1 = c + p1 * w1
    p2 = -0.000200214257
    for c in (0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773, -0.0076224613,
              0.00943887047, 1.00167406, 2.83297682):
        p2 = c + p2 * w2
    x = np.where(w < 5.0, p1, p2) * yc
    for _ in range(3):
        x = x - (_erf(x) - yc) / (2 / _SQRT_PI * np.exp(-x * x))
    x = np.where(inside, x, np.where(np.abs(y64) == 1, np.sign(y64) * np.inf, np.nan))
    return x.astype(y.dtype)


class _Unary(Function):
    """y = f(x);  gx = gy * f'(x, y)  (the row's ``f`` and ``df``)."""
    f = df = None

    def forward(ctx, x):
        with np.errstate(divide="ignore", invalid="ignore"):
            y = np.asarray(type(ctx).f(x)).astype(x.dtype, copy=False)
        ctx.save_for_backward(x, y)
        return y

    def backward(ctx, gy):
        x, y = ctx.saved
        with np.errstate(divide="ignore", invalid="ignore"):
            return (gy * type(ctx).df(x, y)).astype(gy.dtype, copy=False)


class _Binary(Function):
    """y = f(a, b);  ga = gy * da(a, b, y),  gb = gy * db(a, b, y)."""
    f = da = db = None
    name = ""

    def forward(ctx, a, b):
        broadcast_shapes(type(ctx).name, a.shape, b.shape)
        with np.errstate(divide="ignore", invalid="ignore"):
            y = np.asarray(type(ctx).f(a, b))
        if y.dtype.kind == "f" and a.dtype.kind == "f":
            y = y.astype(np.result_type(a.dtype, b.dtype) if b.dtype.kind == "f" else a.dtype, copy=False)
        ctx.save_for_backward(a, b, y)
        return y

    def backward(ctx, gy):
        a, b, y = ctx.saved
        need_a, need_b = ctx.needs_input_grad
        cls = type(ctx)
        with np.errstate(divide="ignore", invalid="ignore"):
            ga = (gy * cls.da(a, b, y)).astype(gy.dtype, copy=False) if need_a else None
            gb = (gy * cls.db(a, b, y)).astype(gy.dtype, copy=False) if need_b and cls.db else None
        return ga, gb


def _floatx():
    from ..config import float_dtype
    return float_dtype()


def _float_input(x):
    """x as a float Tensor: ints and bools become floatx, as Keras's float functions."""
    t = as_tensor(x)
    if t.dtype.kind not in "fc":
        from .elementwise import cast
        return cast(t, _floatx())
    return t


def _binary_inputs(x1, x2):
    """Both operands as float Tensors; a Python number takes the other operand's dtype."""
    t1 = x1 if isinstance(x1, Tensor) else None
    t2 = x2 if isinstance(x2, Tensor) else None
    ref = next((t.dtype for t in (t1, t2) if t is not None and t.dtype.kind == "f"), None)
    out = []
    for x in (x1, x2):
        if not isinstance(x, Tensor) and isinstance(x, (int, float, bool)) and ref is not None:
            x = Tensor(np.asarray(x, ref))
        out.append(_float_input(x))
    return out


def _make_unary(name, f, df, doc):
    cls = type(name.title().replace("_", ""), (_Unary,),
               {"f": staticmethod(f), "df": staticmethod(df), "__doc__": doc})

    def op(x):
        return cls.apply(_float_input(x))
    op.__name__, op.__qualname__ = name, name
    op.__doc__ = f"Elementwise {name}: {doc}"
    return cls, op


def _make_binary(name, f, da, db, doc):
    cls = type(name.title().replace("_", ""), (_Binary,),
               {"f": staticmethod(f), "da": staticmethod(da),
                "db": staticmethod(db) if db else None, "name": name, "__doc__": doc})

    def op(x1, x2):
        return cls.apply(*_binary_inputs(x1, x2))
    op.__name__, op.__qualname__ = name, name
    op.__doc__ = f"Elementwise {name} with broadcasting: {doc}"
    return cls, op


def _sinc(x):
    return np.sinc(x)


def _dsinc(x, y):
    # d/dx sin(pi x)/(pi x) = (cos(pi x) - sinc(x)) / x, and 0 at x = 0
    safe = np.where(x == 0, 1, x)
    return np.where(x == 0, 0, (np.cos(np.pi * x) - y) / safe)


UNARY = [
    # name       forward                        derivative f'(x) from (x, y)                math
    ("sin", np.sin, lambda x, y: np.cos(x), "y = sin x;  gx = gy cos x"),
    ("cos", np.cos, lambda x, y: -np.sin(x), "y = cos x;  gx = -gy sin x"),
    ("tan", np.tan, lambda x, y: 1 + y * y, "y = tan x;  gx = gy (1 + y^2)"),
    ("arcsin", np.arcsin, lambda x, y: 1 / np.sqrt(1 - x * x), "y = asin x;  gx = gy / sqrt(1 - x^2)"),
    ("arccos", np.arccos, lambda x, y: -1 / np.sqrt(1 - x * x), "y = acos x;  gx = -gy / sqrt(1 - x^2)"),
    ("arctan", np.arctan, lambda x, y: 1 / (1 + x * x), "y = atan x;  gx = gy / (1 + x^2)"),
    ("sinh", np.sinh, lambda x, y: np.cosh(x), "y = sinh x;  gx = gy cosh x"),
    ("cosh", np.cosh, lambda x, y: np.sinh(x), "y = cosh x;  gx = gy sinh x"),
    ("arcsinh", np.arcsinh, lambda x, y: 1 / np.sqrt(x * x + 1), "y = asinh x;  gx = gy / sqrt(x^2 + 1)"),
    ("arccosh", np.arccosh, lambda x, y: 1 / np.sqrt(x * x - 1), "y = acosh x;  gx = gy / sqrt(x^2 - 1)"),
    ("arctanh", np.arctanh, lambda x, y: 1 / (1 - x * x), "y = atanh x;  gx = gy / (1 - x^2)"),
    ("expm1", np.expm1, lambda x, y: y + 1, "y = e^x - 1;  gx = gy (y + 1)"),
    ("log1p", np.log1p, lambda x, y: 1 / (1 + x), "y = ln(1 + x);  gx = gy / (1 + x)"),
    ("log2", np.log2, lambda x, y: 1 / (x * _LN2), "y = log2 x;  gx = gy / (x ln 2)"),
    ("log10", np.log10, lambda x, y: 1 / (x * _LN10), "y = log10 x;  gx = gy / (x ln 10)"),
    ("exp2", np.exp2, lambda x, y: y * _LN2, "y = 2^x;  gx = gy y ln 2"),
    ("erf", _erf, lambda x, y: 2 / _SQRT_PI * np.exp(-x * x), "y = erf x;  gx = gy 2/sqrt(pi) e^{-x^2}"),
    ("erfc", _erfc, lambda x, y: -2 / _SQRT_PI * np.exp(-x * x), "y = 1 - erf x;  gx = -gy 2/sqrt(pi) e^{-x^2}"),
    ("erfinv", _erfinv, lambda x, y: _SQRT_PI / 2 * np.exp(y * y),
     "y = erf^{-1} x;  gx = gy sqrt(pi)/2 e^{y^2}"),
    ("cbrt", np.cbrt, lambda x, y: 1 / (3 * y * y), "y = x^{1/3};  gx = gy / (3 y^2)"),
    ("reciprocal", np.reciprocal, lambda x, y: -y * y, "y = 1/x;  gx = -gy y^2"),
    ("rsqrt", lambda x: 1 / np.sqrt(x), lambda x, y: -0.5 * y * y * y, "y = 1/sqrt(x);  gx = -gy y^3 / 2"),
    ("sinc", _sinc, _dsinc, "y = sin(pi x)/(pi x) (1 at 0);  gx = gy (cos(pi x) - y) / x (0 at 0)"),
    ("deg2rad", np.deg2rad, lambda x, y: np.full_like(x, np.pi / 180), "y = x pi/180;  gx = gy pi/180"),
    ("rad2deg", np.rad2deg, lambda x, y: np.full_like(x, 180 / np.pi), "y = x 180/pi;  gx = gy 180/pi"),
    # NOTE: |x| has subgradient 0 at 0, as abs.
    ("fabs", np.fabs, lambda x, y: np.sign(x), "y = |x|;  gx = gy sign(x)"),
    ("log_sigmoid", lambda x: -(np.maximum(-x, 0) + np.log1p(np.exp(-np.abs(x)))),
     lambda x, y: 1 - np.exp(y), "y = -softplus(-x) = ln sigmoid(x);  gx = gy (1 - sigmoid(x))"),
]


def _fmax_weight(a, b, y):
    # NOTE: the gradient goes to the operand fmax returned; a tie splits it evenly.
    return (a > b) + 0.5 * (a == b) + (np.isnan(b) & ~np.isnan(a))


def _fmin_weight(a, b, y):
    return (a < b) + 0.5 * (a == b) + (np.isnan(b) & ~np.isnan(a))


def _divide_no_nan(a, b):
    return np.where(b == 0, 0, a / np.where(b == 0, 1, b))


BINARY = [
    # name        forward     d/da                         d/db                        math
    ("arctan2", np.arctan2, lambda a, b, y: b / (a * a + b * b), lambda a, b, y: -a / (a * a + b * b),
     "y = atan2(a, b), the angle of (b, a);  ga = gy b/(a^2+b^2),  gb = -gy a/(a^2+b^2)"),
    ("hypot", np.hypot, lambda a, b, y: a / y, lambda a, b, y: b / y,
     "y = sqrt(a^2 + b^2);  ga = gy a/y,  gb = gy b/y"),
    ("logaddexp", np.logaddexp, lambda a, b, y: np.exp(a - y), lambda a, b, y: np.exp(b - y),
     "y = ln(e^a + e^b);  ga = gy e^{a-y},  gb = gy e^{b-y}"),
    ("logaddexp2", np.logaddexp2, lambda a, b, y: np.exp2(a - y), lambda a, b, y: np.exp2(b - y),
     "y = log2(2^a + 2^b);  ga = gy 2^{a-y},  gb = gy 2^{b-y}"),
    # NOTE: mod and fmod jump where a/b crosses an integer; the rules hold between the jumps.
    ("mod", np.mod, lambda a, b, y: np.ones_like(y), lambda a, b, y: -np.floor(a / b),
     "y = a - floor(a/b) b (sign of b);  ga = gy,  gb = -gy floor(a/b)"),
    ("fmod", np.fmod, lambda a, b, y: np.ones_like(y), lambda a, b, y: -np.trunc(a / b),
     "y = a - trunc(a/b) b (sign of a);  ga = gy,  gb = -gy trunc(a/b)"),
    ("fmax", np.fmax, _fmax_weight, lambda a, b, y: 1 - _fmax_weight(a, b, y),
     "y = max(a, b) ignoring NaN;  the gradient goes to the operand returned"),
    ("fmin", np.fmin, _fmin_weight, lambda a, b, y: 1 - _fmin_weight(a, b, y),
     "y = min(a, b) ignoring NaN;  the gradient goes to the operand returned"),
    ("divide_no_nan", _divide_no_nan, lambda a, b, y: _divide_no_nan(1, b), lambda a, b, y: -_divide_no_nan(y, b),
     "y = a/b, and 0 where b = 0;  ga = gy/b,  gb = -gy y/b (both 0 where b = 0)"),
]

for _row in UNARY:
    _cls, _fn = _make_unary(*_row)
    globals()[_cls.__name__], globals()[_row[0]] = _cls, _fn
for _row in BINARY:
    _cls, _fn = _make_binary(*_row)
    globals()[_cls.__name__], globals()[_row[0]] = _cls, _fn
del _row, _cls, _fn


def remainder(x1, x2):
    return mod(x1, x2)  # noqa: F821 - made from the table above


class Ldexp(Function):
    """y = x1 * 2^x2 for integer x2;  gx1 = gy 2^x2 (x2 gets no gradient)."""

    def forward(ctx, x1, scale):
        ctx.scale = scale
        return np.ldexp(x1, scale).astype(x1.dtype, copy=False)

    def backward(ctx, gy):
        return np.ldexp(gy, ctx.scale)


def ldexp(x1, x2):
    """x1 * 2**x2 (x2 an integer tensor)."""
    e = np.asarray(data_of(x2))
    if e.dtype.kind not in "iub":
        raise TypeError(f"ldexp: x2 must be integers. Received: x2.dtype={e.dtype}")
    return Ldexp.apply(_float_input(x1), scale=e.astype(np.int32))


class NanToNum(Function):
    """y = x with NaN, +inf, -inf replaced by constants;  gx = gy where x is finite, else 0."""

    def forward(ctx, x, nan, posinf, neginf):
        ctx.finite = np.isfinite(x)
        return np.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf)

    def backward(ctx, gy):
        return np.where(ctx.finite, gy, np.zeros((), gy.dtype))


def nan_to_num(x, nan=0.0, posinf=None, neginf=None):
    """NaN becomes ``nan``, infinities become ``posinf``/``neginf`` (default: the dtype's
    largest finite values)."""
    t = as_tensor(x)
    if t.dtype.kind != "f":
        return t
    return NanToNum.apply(t, nan=nan, posinf=posinf, neginf=neginf)


class RealPart(Function):
    """y = Re(x) (x itself for real x);  gx = gy."""

    def forward(ctx, x):
        return np.real(x).copy()

    def backward(ctx, gy):
        return gy


def real(x):
    """The real part (x itself, differentiably, for real x)."""
    return RealPart.apply(as_tensor(x))


def imag(x):
    """The imaginary part (zeros for real x; not differentiable)."""
    return Tensor(np.imag(data_of(x)).copy())


def conjugate(x):
    """The complex conjugate (x itself for real x)."""
    a = data_of(x)
    if a.dtype.kind == "c":
        return Tensor(np.conj(a))
    return as_tensor(x)


conj = conjugate


def angle(x):
    """The argument of each complex number (pi for negative reals, 0 otherwise; no gradient)."""
    a = np.asarray(data_of(x))
    return Tensor(np.angle(a).astype(a.dtype if a.dtype.kind == "f" else _floatx()))


# ---- zero or undefined derivative: results carry no gradient ----------------------------------

def _nondiff_unary(fn, name, float_only=False):
    def op(x):
        a = np.asarray(data_of(x))
        if float_only and a.dtype.kind not in "fc":
            a = a.astype(_floatx())
        return Tensor._from_op(np.asarray(fn(a)), None)
    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Elementwise ``{name}`` (no gradient: its derivative is zero or undefined)."
    return op


def _weak(x):
    # Python numbers stay Python numbers, so NumPy treats them as weak (float32 stays float32)
    return x if isinstance(x, (int, float, bool)) else np.asarray(data_of(x))


def _nondiff_binary(fn, name):
    def op(x1, x2):
        a, b = _weak(x1), _weak(x2)
        broadcast_shapes(name, np.shape(a), np.shape(b))
        return Tensor._from_op(np.asarray(fn(a, b)), None)
    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Elementwise ``{name}`` with broadcasting (no gradient)."
    return op


floor = _nondiff_unary(np.floor, "floor", float_only=True)
ceil = _nondiff_unary(np.ceil, "ceil", float_only=True)
trunc = _nondiff_unary(np.trunc, "trunc")
isinf = _nondiff_unary(np.isinf, "isinf")
isneginf = _nondiff_unary(np.isneginf, "isneginf")
isposinf = _nondiff_unary(np.isposinf, "isposinf")
isreal = _nondiff_unary(np.isreal, "isreal")
signbit = _nondiff_unary(np.signbit, "signbit")
bitwise_invert = _nondiff_unary(np.invert, "bitwise_invert")
bitwise_not = bitwise_invert
logical_xor = _nondiff_binary(np.logical_xor, "logical_xor")
floor_divide = _nondiff_binary(np.floor_divide, "floor_divide")
heaviside = _nondiff_binary(np.heaviside, "heaviside")
nextafter = _nondiff_binary(np.nextafter, "nextafter")
gcd = _nondiff_binary(np.gcd, "gcd")
lcm = _nondiff_binary(np.lcm, "lcm")
bitwise_and = _nondiff_binary(np.bitwise_and, "bitwise_and")
bitwise_or = _nondiff_binary(np.bitwise_or, "bitwise_or")
bitwise_xor = _nondiff_binary(np.bitwise_xor, "bitwise_xor")
bitwise_left_shift = _nondiff_binary(np.left_shift, "bitwise_left_shift")
bitwise_right_shift = _nondiff_binary(np.right_shift, "bitwise_right_shift")
left_shift = bitwise_left_shift
right_shift = bitwise_right_shift


def round(x, decimals=0):  # noqa: A001 - Keras name
    """Round to ``decimals`` decimals, halves to even (as NumPy and Keras); no gradient."""
    return Tensor._from_op(np.asarray(np.round(data_of(x), decimals)), None)


def isclose(x1, x2, rtol=1e-5, atol=1e-8, equal_nan=False):
    """|x1 - x2| <= atol + rtol |x2|, elementwise (a boolean tensor)."""
    a, b = np.asarray(data_of(x1)), np.asarray(data_of(x2))
    broadcast_shapes("isclose", a.shape, b.shape)
    return Tensor._from_op(np.isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan), None)


def allclose(x1, x2, rtol=1e-5, atol=1e-8, equal_nan=False):
    """Whether ``isclose`` holds everywhere (a 0-d boolean tensor)."""
    return Tensor._from_op(np.asarray(bool(isclose(x1, x2, rtol, atol, equal_nan).data.all())), None)


def isin(x1, x2, assume_unique=False, invert=False):
    """Whether each element of x1 occurs in x2."""
    return Tensor._from_op(np.isin(data_of(x1), data_of(x2), assume_unique=assume_unique,
                                   invert=invert), None)


def i0(x):
    """The modified Bessel function of the first kind, order 0 (no gradient)."""
    a = np.asarray(data_of(x))
    a = a if a.dtype.kind == "f" else a.astype(_floatx())
    return Tensor._from_op(np.i0(a).astype(a.dtype), None)


# ---- differences, products and sums along an axis (compositions, so their gradients come free) ----

def diff(a, n=1, axis=-1):
    """The n-th discrete difference along ``axis``: a[1:] - a[:-1], n times."""
    from .elementwise import subtract
    from .shape import getitem
    nd = np.ndim(data_of(a))
    if nd == 0:
        raise ValueError("diff: the input must have at least one axis; received a 0-d tensor")
    ax = axis % nd
    y = as_tensor(a)
    for _ in range(int(n)):
        lead = (np.s_[:],) * ax
        y = subtract(getitem(y, lead + (np.s_[1:],)), getitem(y, lead + (np.s_[:-1],)))
    return y


def cross(x1, x2, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """Cross product of 3-vectors (or 2-vectors, taken with z = 0) along the given axes,
    as ``numpy.cross``: c = (a1 b2 - a2 b1, a2 b0 - a0 b2, a0 b1 - a1 b0)."""
    from .elementwise import multiply, subtract
    from .shape import moveaxis, stack
    if axis is not None:
        axisa = axisb = axisc = axis
    a, b = moveaxis(as_tensor(x1), axisa, -1), moveaxis(as_tensor(x2), axisb, -1)
    na, nb = a.shape[-1], b.shape[-1]
    if na not in (2, 3) or nb not in (2, 3):
        raise ValueError(f"cross: the vector axes must have size 2 or 3. Received: {na} and {nb}")
    ca = [a[..., i] for i in range(na)] + [None] * (3 - na)
    cb = [b[..., i] for i in range(nb)] + [None] * (3 - nb)

    def term(i, j):  # a_i b_j - a_j b_i, with a missing z component as 0
        left = multiply(ca[i], cb[j]) if ca[i] is not None and cb[j] is not None else None
        right = multiply(ca[j], cb[i]) if ca[j] is not None and cb[i] is not None else None
        if right is None:
            return left
        return subtract(left, right) if left is not None else multiply(right, -1)
    z = term(0, 1)
    if na == 2 and nb == 2:
        return z
    return moveaxis(stack([term(1, 2), term(2, 0), z], axis=-1), -1, axisc)


def trapezoid(y, x=None, dx=1.0, axis=-1):
    """The integral of y along ``axis`` by the trapezoidal rule (sample points x, or spacing dx)."""
    from .elementwise import add, multiply
    from .reduction import sum as _sum
    from .shape import getitem
    y = _float_input(y)
    ax = axis % y.ndim
    lead = (np.s_[:],) * ax
    mids = multiply(add(getitem(y, lead + (np.s_[1:],)), getitem(y, lead + (np.s_[:-1],))), 0.5)
    if x is None:
        return multiply(_sum(mids, axis=ax), dx)
    d = diff(_float_input(x), axis=-1 if np.ndim(data_of(x)) == 1 else ax)
    if d.ndim == 1 and y.ndim > 1:
        from .shape import reshape
        d = reshape(d, [-1 if k == ax else 1 for k in range(y.ndim)])
    return _sum(multiply(mids, d), axis=ax)


def correlate(x1, x2, mode="valid"):
    """Cross-correlation of two 1-D sequences, as ``numpy.correlate``:
    c[k] = sum_m a[k + m] v[m] over the zero-padded a, cut to ``mode`` ('valid', 'same', 'full')."""
    from .einsum import einsum
    from .embedding import take
    from .shape import pad
    a, v = _float_input(x1), _float_input(x2)
    if a.ndim != 1 or v.ndim != 1:
        raise ValueError(f"correlate: both inputs must be 1-D. Received: shapes {a.shape} and {v.shape}")
    if mode not in ("valid", "same", "full"):
        raise ValueError(f"correlate: mode must be 'valid', 'same' or 'full'. Received: mode={mode!r}")
    n, m = a.shape[0], v.shape[0]
    if mode == "full":
        start, length = 0, n + m - 1
    elif mode == "valid":
        start, length = min(n, m) - 1, max(n, m) - min(n, m) + 1
    else:
        start, length = ((m - 1) // 2 if n >= m else n // 2), max(n, m)
    padded = pad(a, ((m - 1, m - 1),))
    windows = take(padded, (start + np.arange(length))[:, None] + np.arange(m)[None, :], axis=0)
    return einsum("km,m->k", windows, v)


def vander(x, N=None, increasing=False):
    """The Vandermonde matrix of 1-D x: columns x^(N-1), ..., x, 1 (reversed if ``increasing``)."""
    from .elementwise import multiply
    from .shape import stack
    x = as_tensor(x)
    if x.ndim != 1:
        raise ValueError(f"vander: x must be 1-D. Received: shape={x.shape}")
    n = x.shape[0] if N is None else int(N)
    cols = []
    for k in range(n):  # repeated products, not powers: exact, and no 0 * inf gradient at x = 0
        cols.append(Tensor(np.ones(x.shape, x.dtype)) if k == 0 else multiply(cols[-1], x))
    if not cols:
        return Tensor(np.zeros((x.shape[0], 0), x.dtype))
    return stack(cols if increasing else cols[::-1], axis=1)


# ---- special functions -------------------------------------------------------------------------

def _lgamma(a):
    return np.vectorize(math.lgamma, otypes=[np.float64])(a)


def _gammainc(a, x):
    """P(a, x) = gamma(a, x) / Gamma(a): the series sum_n x^n / (a (a+1) ... (a+n)) times
    x^a e^{-x} / Gamma(a) for x < a + 1, else 1 - Q by Lentz's continued fraction
    (Numerical Recipes 6.2), each with a fixed number of terms (vectorized, float64)."""
    a, x = np.broadcast_arrays(np.asarray(a, np.float64), np.asarray(x, np.float64))
    out = np.full(a.shape, np.nan)
    with np.errstate(all="ignore"):
        log_front = a * np.log(np.where(x > 0, x, 1)) - x - _lgamma(np.where(a > 0, a, 1))
        # series
        term = 1.0 / a
        total = term.copy()
        for n in range(1, 300):  # loops over series terms, not elements
            term = term * x / (a + n)
            total = total + term
        series = total * np.exp(log_front)
        # continued fraction for Q
        tiny = 1e-300
        b = x + 1 - a
        c = np.full(a.shape, 1 / tiny)
        d = 1 / np.where(b == 0, tiny, b)
        h = d.copy()
        for i in range(1, 300):
            an = -i * (i - a)
            b = b + 2
            d = an * d + b
            d = 1 / np.where(np.abs(d) < tiny, tiny, d)
            c = b + an / np.where(np.abs(c) < tiny, tiny, c)
            h = h * d * c
        cf = 1 - np.exp(log_front) * h
    out = np.where(x < a + 1, series, cf)
    out = np.where(x == 0, 0.0, out)
    out = np.where(np.isinf(x) & (x > 0), 1.0, out)
    return np.where((a > 0) & (x >= 0), out, np.nan)


class Gammainc(Function):
    """y = P(a, x), the regularized lower incomplete gamma function;
    gx = gy x^{a-1} e^{-x} / Gamma(a).  ``a`` gets no gradient (as JAX)."""

    def forward(ctx, a, x):
        broadcast_shapes("gammainc", a.shape, x.shape)
        ctx.save_for_backward(a, x)
        return _gammainc(a, x).astype(np.result_type(a.dtype, x.dtype))

    def backward(ctx, gy):
        a, x = ctx.saved
        with np.errstate(all="ignore"):
            d = np.exp((a - 1) * np.log(np.where(x > 0, x, 1)) - x - _lgamma(np.where(a > 0, a, 1)))
        d = np.where(x > 0, d, 0)
        # NOTE: d/da has no closed form here; like JAX, no gradient flows to a.
        return None, (gy * d).astype(gy.dtype)


def gammainc(x, y):
    """The regularized lower incomplete gamma function P(x, y) = (1/Gamma(x)) int_0^y t^{x-1} e^{-t} dt
    (NaN where x <= 0 or y < 0); differentiable in y.

    Example:
        >>> import numpy as np, shendu.ops as ops
        >>> ops.gammainc(np.array(1.0), np.array(2.0)).numpy()   # 1 - e^-2
        array(0.86466472)
    """
    a, x = _binary_inputs(x, y)
    return Gammainc.apply(a, x)
