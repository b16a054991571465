"""Test helpers: the gradient checker and shared checks for ops and layers."""
from ..autograd.gradcheck import GradcheckError, gradcheck  # noqa: F401
from .opspec import OpSpec, away_from, distinct, op_spec_tests  # noqa: F401,E402
from .layer_test import layer_gradcheck, run_layer_test  # noqa: F401,E402
from .tolerances import assert_allclose_normwise, normwise_error  # noqa: F401,E402
