"""ops.dot_product_attention: fused (blocked, online softmax) vs materialised reference,
float64 gradient checks of both, and agreement with real Keras and with PyTorch."""
import numpy as np
import pytest

from shendu import config, ops
from shendu.autograd.tensor import Tensor
from shendu.ops import attention as A
from shendu.testing import gradcheck
from shendu.testing.tolerances import assert_allclose_normwise

B, T, S, N, K, H, HV = 2, 5, 7, 4, 2, 3, 4


@pytest.fixture
def small_blocks(monkeypatch):
    # Blocks smaller than T and S, not dividing them, so the online softmax crosses blocks.
    monkeypatch.setattr(A, "BLOCK_Q", 2)
    monkeypatch.setattr(A, "BLOCK_K", 3)


def _qkv(rng, dtype="float64", kv_heads=K, t=T, s=S, hv=HV):
    return (rng.standard_normal((B, t, N, H)).astype(dtype),
            rng.standard_normal((B, s, kv_heads, H)).astype(dtype),
            rng.standard_normal((B, s, kv_heads, hv)).astype(dtype))


def _cases(rng, t=T, s=S):
    return {
        "plain": {},
        "causal": dict(is_causal=True),
        "mask": dict(mask=rng.random((B, 1, t, s)) > 0.3),
        "bias": dict(bias=rng.standard_normal((N, t, s))),
        "scale": dict(scale=0.7),
        "mask_causal_bias": dict(mask=rng.random((B, N, t, s)) > 0.4, is_causal=True,
                                 bias=rng.standard_normal((B, 1, 1, s))),
        "fully_masked_rows": dict(mask=np.arange(t)[:, None] % 2 == np.zeros((1, s), int)),
    }


CASES = list(_cases(np.random.default_rng(0)))


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("kv_heads", [K, N, 1])
def test_fused_matches_reference(small_blocks, case, kv_heads):
    rng = np.random.default_rng(1)
    q, k, v = _qkv(rng, "float32", kv_heads)
    kw = _cases(rng)[case]
    a = ops.dot_product_attention(q, k, v, flash_attention=True, **kw).numpy()
    b = ops.dot_product_attention(q, k, v, flash_attention=False, **kw).numpy()
    assert a.shape == b.shape == (B, T, N, HV) and a.dtype == np.float32
    assert_allclose_normwise(a, b, rtol=1e-6)


@pytest.mark.parametrize("flash", [True, False])
@pytest.mark.parametrize("case", CASES)
def test_gradcheck(small_blocks, flash, case):
    rng = np.random.default_rng(2)
    q, k, v = _qkv(rng)
    kw = _cases(rng)[case]
    bias = kw.pop("bias", None)
    if bias is None:
        gradcheck(lambda q, k, v: ops.dot_product_attention(
            q, k, v, flash_attention=flash, **kw), q, k, v)
    else:
        gradcheck(lambda q, k, v, b: ops.dot_product_attention(
            q, k, v, b, flash_attention=flash, **kw), q, k, v, bias)


def test_fused_gradients_match_reference_float32(small_blocks):
    rng = np.random.default_rng(3)
    q, k, v = _qkv(rng, "float32", 1, t=9, s=9)
    bias = rng.standard_normal((1, N, 9, 9)).astype("float32")
    grads = []
    for flash in (True, False):
        ts = [Tensor(a, requires_grad=True) for a in (q, k, v, bias)]
        out = ops.dot_product_attention(*ts[:3], ts[3], is_causal=True, flash_attention=flash)
        (out * Tensor(np.cos(np.arange(out.size)).reshape(out.shape).astype("float32"))).sum() \
            .backward()
        grads.append([t.grad.numpy() for t in ts])
    for a, b in zip(*grads):
        assert a.dtype == np.float32
        assert_allclose_normwise(a, b, rtol=1e-5)


def test_fused_keeps_no_score_matrix():
    rng = np.random.default_rng(4)
    t = 300
    q, k, v = (Tensor(a, requires_grad=True) for a in _qkv(rng, "float32", N, t=t, s=t))
    out = ops.dot_product_attention(q, k, v, is_causal=True, flash_attention=True)
    largest = max(a.size for a in out._ctx.saved if a is not None)
    assert largest < t * t, f"the fused op saved an array of {largest} elements (T*T = {t * t})"


def test_config_switch_chooses_the_implementation():
    rng = np.random.default_rng(5)
    q, k, v = (Tensor(a, requires_grad=True) for a in _qkv(rng, "float32"))
    try:
        config.disable_flash_attention()
        out = ops.dot_product_attention(q, k, v)
        assert type(out._ctx).__name__ != "FlashAttention"
        config.enable_flash_attention()
        out = ops.dot_product_attention(q, k, v)
        assert type(out._ctx).__name__ == "FlashAttention"
    finally:
        config.enable_flash_attention()
    assert ops.nn.dot_product_attention is ops.dot_product_attention


def test_errors_name_the_shapes():
    q = np.zeros((1, 2, 3, 4), "float32")
    with pytest.raises(ValueError, match="multiple of the key heads"):
        ops.dot_product_attention(q, np.zeros((1, 2, 2, 4)), np.zeros((1, 2, 2, 4)))
    with pytest.raises(ValueError, match=r"mask must broadcast.*mask.shape=\(5,\)"):
        ops.dot_product_attention(q, q, q, mask=np.ones(5, bool))
    with pytest.raises(ValueError, match="rank 4"):
        ops.dot_product_attention(q[0], q, q)


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("flash", [True, False])
def test_matches_keras(small_blocks, case, flash):
    keras = pytest.importorskip("keras", reason="the Keras comparison needs keras installed")
    rng = np.random.default_rng(6)
    q, k, v = _qkv(rng, "float32", hv=H)  # Keras on JAX wants value's head size == key's
    kw = _cases(rng)[case]
    if "bias" in kw:
        kw["bias"] = kw["bias"].astype("float32")
    want = np.asarray(keras.ops.dot_product_attention(q, k, v, **kw))
    got = ops.dot_product_attention(q, k, v, flash_attention=flash, **kw).numpy()
    assert_allclose_normwise(got, want, rtol=1e-5)


@pytest.mark.torch
@pytest.mark.parametrize("case", ["plain", "causal", "mask", "scale", "bias"])
@pytest.mark.parametrize("flash", [True, False])
def test_matches_torch_sdpa(small_blocks, case, flash):
    torch = pytest.importorskip("torch", reason="the PyTorch comparison needs torch")
    rng = np.random.default_rng(7)
    q, k, v = _qkv(rng, "float32", N, t=6, s=6)
    kw = _cases(rng, t=6, s=6)[case]
    tq, tk, tv = (torch.from_numpy(a).transpose(1, 2) for a in (q, k, v))
    tkw = {"is_causal": kw.get("is_causal", False), "scale": kw.get("scale")}
    if "mask" in kw:
        kw["mask"][..., 0] = True  # torch gives NaN on a row with every key masked
        tkw["attn_mask"] = torch.from_numpy(kw["mask"])
    if "bias" in kw:
        kw["bias"] = kw["bias"].astype("float32")
        tkw["attn_mask"] = torch.from_numpy(kw["bias"])  # a float attn_mask is added
    ts = [Tensor(a, requires_grad=True) for a in (q, k, v)]
    tts = [a.detach().clone().requires_grad_(True) for a in (tq, tk, tv)]
    out = ops.dot_product_attention(*ts, flash_attention=flash, **kw)
    tout = torch.nn.functional.scaled_dot_product_attention(*tts, **tkw).transpose(1, 2)
    assert_allclose_normwise(out.numpy(), tout.detach().numpy(), rtol=1e-5)
    r = np.random.default_rng(8).standard_normal(out.shape).astype("float32")
    (out * Tensor(r)).sum().backward()
    (tout * torch.from_numpy(r)).sum().backward()
    for a, b in zip(ts, tts):
        assert_allclose_normwise(a.grad.numpy(), b.grad.transpose(1, 2).numpy(), rtol=1e-5)
