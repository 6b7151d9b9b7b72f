import numpy as np
import pytest

from routing.table import (
    GraphArrays,
    csr_from_edges,
    largest_strong_component,
    site_table,
)


def test_parallel_edges_keep_the_minimum_not_the_sum():
    csr = csr_from_edges(np.array([0, 0, 0, 1]), np.array([1, 1, 1, 0]),
                         np.array([9.0, 4.0, 7.0, 5.0]), 2)
    assert csr[0, 1] == 4.0
    assert csr[1, 0] == 5.0
    assert csr.nnz == 2


def test_self_loops_dropped_and_zero_weights_kept_as_edges():
    csr = csr_from_edges(np.array([0, 1]), np.array([0, 2]), np.array([3.0, 0.0]), 3)
    assert csr[0, 0] == 0.0 and csr.nnz == 1
    table = site_table(csr, np.array([2]))
    assert table[1, 0] == pytest.approx(0.0, abs=1e-2)
    assert np.isinf(table[0, 0])


def test_table_is_time_from_node_to_site_respecting_one_way():
    # 0 -> 1 one-way (10 s); 1 -> 2 -> 0 the long way back (30 + 40 s); 1 <-> 3 two-way (5 s).
    u, v = np.array([0, 1, 2, 1, 3]), np.array([1, 2, 0, 3, 1])
    seconds = np.array([10.0, 30.0, 40.0, 5.0, 5.0])
    table = site_table(csr_from_edges(u, v, seconds, 4), np.array([1, 0]))
    assert table.dtype == np.float32 and table.shape == (4, 2)
    np.testing.assert_allclose(table[:, 0], [10.0, 0.0, 50.0, 5.0])
    np.testing.assert_allclose(table[:, 1], [0.0, 70.0, 40.0, 75.0])


def test_site_table_batches_give_the_same_answer(monkeypatch):
    rng = np.random.default_rng(1)
    u, v = rng.integers(0, 50, 400), rng.integers(0, 50, 400)
    csr = csr_from_edges(u, v, rng.uniform(1, 60, 400), 50)
    sites = np.array([3, 7, 11, 40, 41])
    whole = site_table(csr, sites)
    monkeypatch.setattr("routing.table.DIJKSTRA_BATCH_BYTES", 8 * 50 * 2)
    np.testing.assert_array_equal(site_table(csr, sites), whole)


def test_largest_strong_component_drops_one_way_dead_ends():
    csr = csr_from_edges(np.array([0, 1, 1]), np.array([1, 0, 2]), np.ones(3), 3)
    arrays = GraphArrays(np.array([51.0, 51.1, 51.2]), np.zeros(3), csr, np.array([7, 8, 9]))
    kept = largest_strong_component(arrays)
    assert kept.node_osmid.tolist() == [7, 8]
    assert kept.csr.shape == (2, 2) and kept.csr.nnz == 2


def test_synthetic_benchmark_graph_is_strongly_connected_with_one_way_links():
    from scipy.sparse.csgraph import connected_components

    from routing.bench import synthetic_graph

    arrays = synthetic_graph(2_500)
    assert 2_000 < arrays.n_nodes <= 2_500
    assert connected_components(arrays.csr, directed=True, connection="strong")[0] == 1
    has_edge = arrays.csr != 0
    assert (has_edge != has_edge.T).nnz > 0  # some links exist in one direction only
