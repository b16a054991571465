"""Keras 3.16 API coverage: per namespace, how many public names resolve in shendu.

Run with ``-s`` to see the table (or ``make api-coverage``). The floors below are the
counts measured when they were last raised: coverage may grow, never shrink. Whether
each name behaves as Keras documents is tested in the per-module test files.
"""
import api_coverage
import pytest

# Names that resolve, per namespace, at least. Raise a floor when you add names.
FLOORS = {
    "(top level)": 23, "activations": 35, "backend": 14, "callbacks": 15, "config": 20,
    "constraints": 7, "datasets.boston_housing": 1, "datasets.california_housing": 1,
    "datasets.cifar10": 1, "datasets.cifar100": 1, "datasets.fashion_mnist": 1,
    "datasets.imdb": 2, "datasets.mnist": 1, "datasets.reuters": 3, "initializers": 39,
    "layers": 138, "losses": 48, "metrics": 72, "mixed_precision": 7, "models": 6, "ops": 339,
    "ops.image": 17, "ops.linalg": 17, "ops.nn": 54, "ops.numpy": 221, "optimizers": 19,
    "optimizers.schedules": 9, "preprocessing": 3, "preprocessing.image": 5,
    "preprocessing.sequence": 1, "random": 11, "regularizers": 9, "saving": 12, "tree": 12,
    "utils": 37,
}
TOTAL_FLOOR = 1045


@pytest.fixture(scope="module")
def table():
    return api_coverage.measure()


def test_name_list_is_keras_3_16():
    names = api_coverage.load_names()
    assert len(names) == 1454 and len(set(names)) == 1454
    assert sum(map(api_coverage.in_scope, names)) == 1370


def test_exclusions_are_in_scope_names_with_reasons():
    names = set(api_coverage.load_names())
    for name, reason in api_coverage.load_exclusions().items():
        assert name in names and api_coverage.in_scope(name), f"{name} is not an in-scope Keras name"
        assert isinstance(reason, str) and len(reason) > 20, f"{name} needs a reason"


def test_resolution_follows_attribute_chains():
    import shendu
    assert api_coverage.resolve("keras.layers.Dense") is shendu.layers.Dense
    assert api_coverage.resolve("keras.layers.NoSuchLayer") is None
    assert api_coverage.resolve("keras.no_such_namespace.Dense") is None


def test_coverage_never_drops(table):
    print("\n" + api_coverage.format_table(table))
    low = {ns: (table[ns]["resolved"], floor) for ns, floor in FLOORS.items()
           if table[ns]["resolved"] < floor}
    assert not low, f"coverage dropped below its floor (resolved, floor): {low}"
    assert sum(row["resolved"] for row in table.values()) >= TOTAL_FLOOR
