"""Item vectors a phone can learn its user against: what the items users keep together say about them beyond
their features.

The trainable head learns a user's taste for an item's features (w) and for items it has been shown (v); what
it cannot learn from those is the user's match with items it has not been shown yet. Histories carry that:
users gather items they like, so two items that share histories more often than their popularity says share
something users like. Per item id, a vector from the training rows' histories:

    M = PMI of two items sharing a history (counted over the training requests; 0 where they never do),
    P = the projection that removes the span of the item features table (and a constant) from each side,
    E = the `dim` leading eigenvectors of P M P, each scaled by the square root of its |eigenvalue|,

rescaled to a mean squared row norm of 1 over the items histories hold (zero rows for the others). Removing
the features' span leaves the features to w: on the built-in data, the same vectors without it were mostly
category and added nothing to the head (docs/personalization.md). Item2vec's SGNS factorizes a shifted PMI
(Levy & Goldberg, "Neural word embedding as implicit matrix factorization", 2014); here the factorization is
exact and deterministic.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator, eigsh

from .features import PAD_ID

DIM = 16  # the user vector's length on the phone; docs/personalization.md has the measurement


def cooccurrence(history: np.ndarray, buckets: int) -> sp.csr_matrix:
    """[buckets, buckets] float64: in how many histories each pair of item ids appears together (an id repeated in
    one history counts once; the diagonal is 0). Sums of parts add up to the whole's."""
    history = np.asarray(history)
    rows, cols = np.nonzero(history != PAD_ID)
    x = sp.csr_matrix((np.ones(len(rows)), (rows, history[rows, cols])), shape=(len(history), buckets))
    x.data[:] = 1.0  # duplicates were summed: once per history
    counts = (x.T @ x).tocsr()
    counts.setdiag(0.0)
    counts.eliminate_zeros()
    return counts


def item_vectors(counts: sp.spmatrix, features: np.ndarray, dim: int = DIM) -> np.ndarray:
    """[buckets, dim] float32 (see the module's doc); all zeros when histories hold fewer than dim + 2 items."""
    counts = sp.csr_matrix(counts, dtype=np.float64)
    n = counts.shape[0]
    totals = np.asarray(counts.sum(axis=1)).reshape(-1)
    held = totals > 0
    out = np.zeros((n, dim), np.float32)
    if held.sum() < dim + 2:
        return out
    coo = counts.tocoo()
    pmi = sp.csr_matrix((np.log(coo.data * totals.sum() / (totals[coo.row] * totals[coo.col])), (coo.row, coo.col)),
                        shape=counts.shape)
    basis, _ = np.linalg.qr(np.c_[np.asarray(features, np.float64).reshape(n, -1), np.ones(n)])

    def project(v):
        return v - basis @ (basis.T @ v)

    operator = LinearOperator((n, n), matvec=lambda v: project(pmi @ project(np.asarray(v).reshape(-1))),
                              dtype=np.float64)
    start = np.random.default_rng(0).standard_normal(n)  # ARPACK's start vector, fixed: the same vectors every run
    values, vectors = eigsh(operator, k=dim, which="LM", v0=start)
    order = np.argsort(-np.abs(values), kind="stable")
    vectors = vectors[:, order] * np.sqrt(np.abs(values[order]))
    # an eigenvector's sign is arbitrary: the one whose largest entry is positive, so a rerun gives the same bytes
    vectors *= np.sign(vectors[np.argmax(np.abs(vectors), axis=0), np.arange(dim)])
    vectors[~held] = 0.0
    vectors /= np.sqrt((vectors[held] ** 2).sum(axis=1).mean())
    out[:] = vectors
    return out
