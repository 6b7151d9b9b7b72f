"""The snapping index's spatial grid (see :mod:`routing.snap`).

Piece midpoints are sorted by the Morton code of their cell in a uniform 3-D grid over
Earth-centred meters; a cell of any coarser level (cell indices shifted right) is then one run
of the sorted codes, found by binary search. A ball query starts at the coarsest level whose
3 x 3 x 3 block of cells around the point holds the ball and refines only the cells its
surface crosses. The index is plain arrays, so it can be saved and memory-mapped
(:mod:`routing.snapcache`).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

# Cell distance bounds are widened by this many meters, so the rounding of a midpoint's cell
# never drops it from a query it belongs to.
_BOUND_SLACK_M = 1e-3
# A query stops refining cells once they hold this few pieces: testing each is cheaper.
_FEW_PIECES = 64
# Balls up to this many finest cells wide are looked up in one block of finest cells.
_BLOCK_CELLS = 4
# Offsets of the cells in a block of (2k + 1)**3 cells around a cell, by k.
_BLOCKS = {k: np.array(list(itertools.product(range(-k, k + 1), repeat=3)), dtype=np.int64)
           for k in range(1, _BLOCK_CELLS + 1)}
_CHILDREN = np.array(list(itertools.product((0, 1), repeat=3)), dtype=np.int64)


@dataclass(frozen=True)
class SnapIndex:
    """What :class:`routing.snap.EdgeSnapper` queries, derived from the edge segments.

    Saved uncompressed in the cache's ``snap/`` directory and memory-mapped at load, so every
    process serving the graph shares one copy through the page cache.

    Attributes
    ----------
    a_m, ab_m
        Each segment's start and start→end vector, ``(n_segments, 3)`` Earth-centred xyz in
        meters (:func:`routing.table.unit_xyz_m`).
    ab2_m2
        Squared length of each segment in square meters, at least 1e-12.
    twin
        The segment on the same two points in the other direction, else -1
        (:func:`twin_segments`).
    piece_seg
        Segment of each indexed piece, ``(n_pieces,)``, ordered by the Morton code of the
        grid cell holding the piece's midpoint.
    piece_mid_m
        Midpoint of each piece, ``(n_pieces, 3)`` xyz in meters, in the same order.
    cell_key
        Morton code of each finest grid cell holding pieces, ascending, ``(n_cells,)``.
    cell_start
        Position of each such cell's first piece, then ``n_pieces``, ``(n_cells + 1,)``.
    grid_origin_m
        Corner of grid cell (0, 0, 0), xyz in meters.
    cell_m
        Edge of a finest grid cell in meters.
    grid_bits
        Bits per axis of the cell indices; the coarsest level, one cell holding every piece.
    half_piece_m
        Half the longest piece in meters.
    """

    a_m: np.ndarray
    ab_m: np.ndarray
    ab2_m2: np.ndarray
    twin: np.ndarray
    piece_seg: np.ndarray
    piece_mid_m: np.ndarray
    cell_key: np.ndarray
    cell_start: np.ndarray
    grid_origin_m: np.ndarray
    cell_m: float
    grid_bits: int
    half_piece_m: float


def ball(index: SnapIndex, point: np.ndarray, radius_m: float
         ) -> tuple[np.ndarray, np.ndarray]:
    """Pieces whose midpoint is within ``radius_m`` meters of ``point`` (xyz meters).

    Returns
    -------
    pieces, d2_m2
        Piece positions (in ``index`` order) and their squared distances in square meters.
    """
    pieces = _candidates(index, point, radius_m)
    d2_m2 = ((index.piece_mid_m[pieces] - point) ** 2).sum(axis=1)
    near = d2_m2 <= radius_m * radius_m
    return pieces[near], d2_m2[near]


def some_piece_m(index: SnapIndex, point: np.ndarray) -> float:
    """Distance in meters to a piece midpoint near the nearest one (bounds the nearest's).

    From the finest level whose 3 x 3 x 3 block of cells around ``point`` holds pieces, the
    nearest occupied cell is followed down to a few pieces.
    """
    cell = _cell_of(index, point)
    for level in range(index.grid_bits + 1):
        cells, lo, hi = _occupied(index, _around(index, cell, level), level)
        if len(cells):
            break
    while level > 0 and (hi - lo).sum() > _FEW_PIECES:
        best = cells[np.argmin(_bounds_m(index, point, cells, level)[0])]
        level -= 1
        cells, lo, hi = _occupied(index, 2 * best + _CHILDREN, level)
    d2_m2 = ((index.piece_mid_m[_ranges_positions(lo, hi)] - point) ** 2).sum(axis=1)
    return float(np.sqrt(d2_m2.min()))


def _candidates(index: SnapIndex, point: np.ndarray, radius_m: float) -> np.ndarray:
    # Pieces in the cells within radius_m of the point, from the coarsest level whose
    # 3 x 3 x 3 block around the point holds the ball, refining only the cells the ball's
    # surface crosses.
    block = math.ceil((radius_m + _BOUND_SLACK_M) / index.cell_m)
    if block <= _BLOCK_CELLS:
        cells, lo, hi = _occupied(index, _cell_of(index, point) + _BLOCKS[max(block, 1)], 0)
        return _ranges_positions(lo, hi)
    level = min(index.grid_bits, math.ceil(math.log2(block)))
    cells, lo, hi = _occupied(index, _around(index, _cell_of(index, point), level), level)
    found_lo, found_hi = [], []
    while len(cells):
        if level == 0:  # the finest cells: their pieces are tested one by one
            found_lo.append(lo)
            found_hi.append(hi)
            break
        near_m, far_m = _bounds_m(index, point, cells, level)
        keep = near_m <= radius_m + _BOUND_SLACK_M
        inside = keep & (far_m <= radius_m - _BOUND_SLACK_M)
        found_lo.append(lo[inside])
        found_hi.append(hi[inside])
        rest = keep & ~inside
        if (hi[rest] - lo[rest]).sum() <= _FEW_PIECES:
            found_lo.append(lo[rest])
            found_hi.append(hi[rest])
            break
        level -= 1
        cells, lo, hi = _occupied(
            index, (2 * cells[rest][:, None, :] + _CHILDREN).reshape(-1, 3), level)
    return _ranges_positions(np.concatenate(found_lo or [lo]),
                             np.concatenate(found_hi or [hi]))


def _cell_of(index: SnapIndex, point: np.ndarray) -> np.ndarray:
    return np.floor((point - index.grid_origin_m) / index.cell_m).astype(np.int64)


def _around(index: SnapIndex, cell: np.ndarray, level: int) -> np.ndarray:
    # The 3 x 3 x 3 cells of this level around the point's; at the coarsest level, the
    # one cell holding every piece (the point itself may be anywhere on Earth).
    if level == index.grid_bits:
        return np.zeros((1, 3), dtype=np.int64)
    return (cell >> level) + _BLOCKS[1]


def _occupied(index: SnapIndex, cells: np.ndarray, level: int
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    # The cells holding pieces, with their pieces' positions lo:hi. A cell of this level
    # is the run of finest cells whose keys share its key's leading bits.
    side = 1 << (index.grid_bits - level)
    cells = cells[((cells >= 0) & (cells < side)).all(axis=1)]
    first = morton_keys(cells) << (3 * level)
    if level == 0:  # one binary search per cell: is it there?
        start = np.searchsorted(index.cell_key, first)
        stop = start + (index.cell_key[np.minimum(start, len(index.cell_key) - 1)] == first)
    else:
        bounds = np.searchsorted(index.cell_key,
                                 np.concatenate((first, first + (1 << (3 * level)))))
        start, stop = bounds[:len(cells)], bounds[len(cells):]
    full = stop > start
    return cells[full], index.cell_start[start[full]], index.cell_start[stop[full]]


def _bounds_m(index: SnapIndex, point: np.ndarray, cells: np.ndarray, level: int
             ) -> tuple[np.ndarray, np.ndarray]:
    # Nearest and farthest distance in meters from the point to each cell of this level.
    size_m = index.cell_m * (1 << level)
    low = index.grid_origin_m + cells * size_m
    high = low + size_m
    gap = np.maximum(np.maximum(low - point, point - high), 0.0)
    far = np.maximum(np.abs(point - low), np.abs(point - high))
    return np.sqrt((gap ** 2).sum(axis=1)), np.sqrt((far ** 2).sum(axis=1))


def morton_keys(cells: np.ndarray) -> np.ndarray:
    """Morton codes of ``(n, 3)`` cell indices below 2**20 (int64)."""
    # Interleave the bits of (x, y, z) cell indices (< 2**20): the cells of a coarser level
    # (indices shifted right) are then contiguous runs of the sorted keys. By table, 10 bits
    # at a time: bit operations one by one cost tens of µs per query.
    spread = _SPREAD_10_BITS[cells & 1023] | (_SPREAD_10_BITS[cells >> 10] << 30)
    return (spread << _AXIS_SHIFT).sum(axis=1)


def _spread_10_bits() -> np.ndarray:
    # Bit i of v moved to bit 3 * i, for every v < 1024.
    v = np.arange(1024, dtype=np.int64)
    return sum(((v >> i) & 1) << (3 * i) for i in range(10))


_SPREAD_10_BITS = _spread_10_bits()
_AXIS_SHIFT = np.arange(3, dtype=np.int64)


def _ranges_positions(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    # All positions lo[i] <= p < hi[i], range after range.
    counts = hi - lo
    return np.repeat(lo - np.cumsum(counts) + counts, counts) + np.arange(counts.sum())
