"""Default-size runs of each family's headline experiment (``make test-all``; minutes)."""

import pytest

from tests.conftest import run_task

pytestmark = pytest.mark.slow


def test_dense_mp_default_keeps_accuracy_at_a_twentieth_of_the_parameters(tmp_path):
    result = run_task(["experiment=pruning/dense_mp"], tmp_path)
    assert result["dense/test_acc"] >= 0.93
    assert result["mp/test_acc"] >= result["dense/test_acc"] - 0.02
    assert result["mp/param_ratio"] < 0.1
    assert result["mp/test_acc"] > result["magnitude/test_acc"] > result["gd/test_acc"]


def test_rps_convergence_default_is_first_order_where_fem_stalls(tmp_path):
    result = run_task(["experiment=homogenization/rps_convergence"], tmp_path)
    assert result["rps/energy_rate"] >= 0.9
    assert result["rps/l2_rate"] >= 1.8
    assert result["fem/energy_rate"] < 0.5


def test_deformed_wigner_default_matches_free_convolution(tmp_path):
    result = run_task(["experiment=spectra/deformed_wigner"], tmp_path)
    assert result["density/sup_err"] < 0.01
    assert result["outliers/max_abs_err"] < 0.05
    assert result["edges/max_abs_err"] < 0.06
