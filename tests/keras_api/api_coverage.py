"""How much of Keras 3.16's public API resolves in shendu, per namespace.

    python -m tests.keras_api.api_coverage        # or: make api-coverage

Reads ``keras-3.16-public-names.txt`` (every public name of Keras 3.16.0, copied from
``/work/shared/keras-api``; see README.md here), drops the names out of scope (other
backends' features and deprecated aliases, by the rules in README.md) and the names in
``exclusions.EXCLUDED`` (each with its reason), and checks for every other name
``keras.a.b.c`` that ``shendu.a.b.c`` resolves by attribute access from ``import shendu``,
as a program written ``import shendu as keras; keras.a.b.c`` would reach it.

This measures resolution only: whether a name works as Keras documents it is the job of
the behaviour tests in the per-module test files.
"""
import importlib
import os
from collections import OrderedDict

HERE = os.path.dirname(os.path.abspath(__file__))
NAMES_FILE = os.path.join(HERE, "keras-3.16-public-names.txt")

# Out of scope by the rules of README.md: namespaces that only make sense on another
# backend or are deprecated aliases, and the layers that wrap another framework's models.
OUT_OF_SCOPE_NAMESPACES = (
    "keras.wrappers", "keras.distribution", "keras.quantizers", "keras.legacy",
    "keras.optimizers.legacy", "keras.utils.legacy", "keras.export", "keras.distillation",
    "keras.dtype_policies", "keras.visualization", "keras.utils.bounding_boxes",
)
OUT_OF_SCOPE_LAYERS = ("TFSMLayer", "JaxLayer", "FlaxLayer", "TorchModuleWrapper")


def load_names(path=NAMES_FILE):
    with open(path, encoding="utf-8") as f:
        return [line.strip() for line in f if line.strip() and not line.startswith("#")]


def in_scope(name):
    for ns in OUT_OF_SCOPE_NAMESPACES:
        if name == ns or name.startswith(ns + "."):
            return False
    return not (name.startswith("keras.layers.") and name.rsplit(".", 1)[1] in OUT_OF_SCOPE_LAYERS)


def namespace(name):
    """'keras.ops.numpy.add' -> 'ops.numpy'; 'keras.Model' -> '(top level)'."""
    parts = name.split(".")[1:-1]
    return ".".join(parts) if parts else "(top level)"


def load_exclusions():
    """``exclusions.EXCLUDED``, imported the same way under pytest and ``python -m``."""
    try:
        from . import exclusions
    except ImportError:  # imported by pytest as a top-level module (tests/ has no __init__)
        import exclusions
    return exclusions.EXCLUDED


_MISSING = object()


def resolve(name, root=None):
    """The object ``shendu.<path>`` for ``keras.<path>``, or None when it does not resolve."""
    obj = importlib.import_module("shendu") if root is None else root
    for part in name.split(".")[1:]:
        try:
            obj = getattr(obj, part, _MISSING)
        except Exception:  # a lazy attribute whose import fails does not resolve
            return None
        if obj is _MISSING:
            return None
    return obj


def measure(names=None, excluded=None):
    """Per namespace: {'in_scope': n, 'excluded': e, 'resolved': r, 'missing': [...]}."""
    if names is None:
        names = load_names()
    if excluded is None:
        excluded = load_exclusions()
    table = OrderedDict()
    for name in sorted(n for n in names if in_scope(n)):
        row = table.setdefault(namespace(name),
                               {"in_scope": 0, "excluded": 0, "resolved": 0, "missing": []})
        row["in_scope"] += 1
        if name in excluded:
            row["excluded"] += 1
        elif resolve(name) is not None:
            row["resolved"] += 1
        else:
            row["missing"].append(name)
    return OrderedDict(sorted(table.items()))


def format_table(table):
    lines = [f"{'namespace':<36} {'resolved':>8} {'measured':>8} {'excluded':>8} {'coverage':>8}"]
    total_r = total_m = total_e = 0
    for ns, row in table.items():
        measured = row["in_scope"] - row["excluded"]
        total_r += row["resolved"]
        total_m += measured
        total_e += row["excluded"]
        pct = 100.0 * row["resolved"] / measured if measured else 100.0
        lines.append(f"{ns:<36} {row['resolved']:>8} {measured:>8} {row['excluded']:>8} {pct:>7.1f}%")
    pct = 100.0 * total_r / total_m if total_m else 100.0
    lines.append(f"{'TOTAL':<36} {total_r:>8} {total_m:>8} {total_e:>8} {pct:>7.1f}%")
    return "\n".join(lines)


def main(argv=None):
    import argparse
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--missing", action="store_true", help="list the names that do not resolve")
    args = parser.parse_args(argv)
    table = measure()
    print(format_table(table))
    if args.missing:
        for row in table.values():
            for name in row["missing"]:
                print("missing:", name)


if __name__ == "__main__":
    main()
