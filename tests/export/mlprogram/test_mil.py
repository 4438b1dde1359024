"""The NumPy executor of ML Programs, op by op: each op it implements, in a one-op program built with coremltools'
MIL builder and saved as a real .mlpackage (no optimization passes, so the op reaches the file as built), run by the
executor on random inputs and compared with TensorFlow's op of the same meaning."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from edgeship.core.errors import InputError
from edgeship.export.mlprogram.mil import OPS, Executor
from edgeship.export.shims import import_coremltools, quiet

ct = import_coremltools()
from coremltools.converters.mil import Builder as mb  # noqa: E402
from coremltools.converters.mil.mil import Function, Program, types  # noqa: E402

RNG = np.random.default_rng(7)
X = RNG.normal(size=(2, 3, 4)).astype(np.float32)
Y = RNG.normal(size=(1, 3, 4)).astype(np.float32)


def save(build, shapes: dict[str, tuple], tmp_path, target=None, dtypes=None, has: tuple[str, ...] = ()
         ) -> Executor:
    """A program of the ops `build(**inputs)` adds, saved as a .mlpackage and loaded by the executor; `has`: op
    types the saved program must contain (the test is of them, not of something a pass made of them)."""
    dtypes = dtypes or {}
    placeholders = {name: mb.placeholder(shape=shape, dtype=dtypes.get(name, types.fp32))
                    for name, shape in shapes.items()}
    with Function(placeholders, opset_version=target or ct.target.iOS17) as function:
        function.set_outputs([build(**function.inputs)])
    program = Program()
    program.add_function("main", function)

    with quiet():
        model = ct.convert(program, convert_to="mlprogram", pass_pipeline=ct.PassPipeline.EMPTY,
                           minimum_deployment_target=target or ct.target.iOS17, compute_precision=ct.precision.FLOAT32)
    path = tmp_path / "op.mlpackage"
    model.save(str(path))
    executor = Executor(path)
    assert set(has) <= {kind for kind, _, _ in executor.ops}, (has, [kind for kind, _, _ in executor.ops])
    return executor


def run(executor: Executor, **feeds) -> np.ndarray:
    return next(iter(executor(feeds).values()))


BINARY = {"add": tf.add, "sub": tf.subtract, "mul": tf.multiply, "real_div": tf.divide, "maximum": tf.maximum,
          "minimum": tf.minimum}
COMPARE = {"greater": tf.greater, "greater_equal": tf.greater_equal, "less": tf.less, "less_equal": tf.less_equal,
           "equal": tf.equal, "not_equal": tf.not_equal}
UNARY = {"relu": tf.nn.relu, "sigmoid": tf.sigmoid, "tanh": tf.tanh, "exp": tf.exp}


@pytest.mark.parametrize("op", sorted(BINARY))
def test_broadcast_arithmetic(op, tmp_path):
    ex = save(lambda x, y: getattr(mb, op)(x=x, y=y), {"x": X.shape, "y": Y.shape}, tmp_path, has=(op,))
    np.testing.assert_allclose(run(ex, x=X, y=Y), BINARY[op](X, Y).numpy(), rtol=1e-6)


@pytest.mark.parametrize("op", sorted(COMPARE))
def test_comparisons_feed_select(op, tmp_path):
    """A bool tensor cannot be a model output: each comparison is checked through select, as the ranker uses it."""
    y = np.where(RNG.random(Y.shape) < 0.3, X[:1], Y)  # some equal elements
    ex = save(lambda x, y: mb.select(cond=getattr(mb, op)(x=x, y=y), a=x, b=mb.mul(x=x, y=-1.0)),
              {"x": X.shape, "y": Y.shape}, tmp_path, has=(op, "select"))
    np.testing.assert_array_equal(run(ex, x=X, y=y), tf.where(COMPARE[op](X, y), X, -X).numpy())


@pytest.mark.parametrize("op", sorted(UNARY))
def test_activations(op, tmp_path):
    ex = save(lambda x: getattr(mb, op)(x=x), {"x": X.shape}, tmp_path, has=(op,))
    np.testing.assert_allclose(run(ex, x=X), UNARY[op](X).numpy(), rtol=1e-6, atol=1e-7)


def test_sqrt_softmax_and_reductions(tmp_path):
    ex = save(lambda x: mb.sqrt(x=mb.mul(x=x, y=x)), {"x": X.shape}, tmp_path, has=("sqrt",))
    np.testing.assert_allclose(run(ex, x=X), tf.sqrt(X * X).numpy(), rtol=1e-6)
    for axis in (-1, 1):
        ex = save(lambda x: mb.softmax(x=x, axis=axis), {"x": X.shape}, tmp_path / str(axis), has=("softmax",))
        np.testing.assert_allclose(run(ex, x=X), tf.nn.softmax(X, axis=axis).numpy(), rtol=1e-6)
    for name, ref in (("reduce_sum", tf.reduce_sum), ("reduce_mean", tf.reduce_mean), ("reduce_max", tf.reduce_max)):
        for keep in (True, False):
            ex = save(lambda x: getattr(mb, name)(x=x, axes=[1, 2], keep_dims=keep), {"x": X.shape},
                      tmp_path / f"{name}{keep}", has=(name,))
            np.testing.assert_allclose(run(ex, x=X), ref(X, axis=[1, 2], keepdims=keep).numpy(), rtol=1e-5)


@pytest.mark.parametrize("exclusive,reverse", [(False, False), (True, False), (False, True), (True, True)])
def test_cumsum(exclusive, reverse, tmp_path):
    ex = save(lambda x: mb.cumsum(x=x, axis=1, exclusive=exclusive, reverse=reverse), {"x": X.shape}, tmp_path,
              has=("cumsum",))
    np.testing.assert_allclose(run(ex, x=X), tf.math.cumsum(X, axis=1, exclusive=exclusive, reverse=reverse).numpy(),
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("tx,ty", [(False, False), (True, False), (False, True), (True, True)])
def test_matmul(tx, ty, tmp_path):
    a = RNG.normal(size=(2, 4, 3) if tx else (2, 3, 4)).astype(np.float32)
    b = RNG.normal(size=(2, 5, 4) if ty else (2, 4, 5)).astype(np.float32)
    ex = save(lambda x, y: mb.matmul(x=x, y=y, transpose_x=tx, transpose_y=ty), {"x": a.shape, "y": b.shape},
              tmp_path, has=("matmul",))
    np.testing.assert_allclose(run(ex, x=a, y=b), tf.linalg.matmul(a, b, transpose_a=tx, transpose_b=ty).numpy(),
                               rtol=1e-5, atol=1e-6)


def test_linear_weight_is_out_by_in(tmp_path):
    w = RNG.normal(size=(6, 4)).astype(np.float32)
    b = RNG.normal(size=(6,)).astype(np.float32)
    ex = save(lambda x: mb.linear(x=x, weight=w, bias=b), {"x": X.shape}, tmp_path, has=("linear",))
    np.testing.assert_allclose(run(ex, x=X), (tf.linalg.matmul(X, w.T) + b).numpy(), rtol=1e-5, atol=1e-6)


def test_gather_with_negative_indices_and_out_of_range(tmp_path):
    table = RNG.normal(size=(7, 3)).astype(np.float32)
    ex = save(lambda i: mb.gather(x=table, indices=i, axis=0), {"i": (2, 4)}, tmp_path, dtypes={"i": types.int32},
              has=("gather",))
    ids = np.array([[0, 6, -1, 3], [-7, 2, 2, 5]], np.int32)
    np.testing.assert_array_equal(run(ex, i=ids), tf.gather(table, np.where(ids < 0, ids + 7, ids)).numpy())
    with pytest.raises(InputError, match=r"out of range \[-7, 7\)"):
        run(ex, i=np.array([[0, 7, 0, 0], [0, 0, 0, 0]], np.int32))


def test_shapes_concat_and_slices(tmp_path):
    cases = {
        "concat": (lambda x: mb.concat(values=[x, x], axis=1), tf.concat([X, X], axis=1)),
        "reshape": (lambda x: mb.reshape(x=x, shape=[4, 6]), tf.reshape(X, [4, 6])),
        "expand_dims": (lambda x: mb.expand_dims(x=x, axes=[0, -1]), tf.reshape(X, (1, 2, 3, 4, 1))),
        "squeeze": (lambda x: mb.squeeze(x=mb.expand_dims(x=x, axes=[1]), axes=[1]), tf.identity(X)),
        "transpose": (lambda x: mb.transpose(x=x, perm=[2, 0, 1]), tf.transpose(X, [2, 0, 1])),
        "slice_by_index": (lambda x: mb.slice_by_index(x=x, begin=[0, 1, 0], end=[0, 3, 3], stride=[1, 1, 2],
                                                     begin_mask=[True, False, False], end_mask=[True, False, False],
                                                     squeeze_mask=[False, False, False]),
                           tf.strided_slice(X, [0, 1, 0], [0, 3, 3], [1, 1, 2], begin_mask=1, end_mask=1)),
        "slice_by_index squeeze": (lambda x: mb.slice_by_index(x=x, begin=[1, 0, 0], end=[2, 0, 0],
                                                               end_mask=[False, True, True],
                                                               squeeze_mask=[True, False, False]),
                                   tf.strided_slice(X, [1, 0, 0], [2, 0, 0], end_mask=6, shrink_axis_mask=1)),
        "slice_by_size": (lambda x: mb.slice_by_size(x=x, begin=[0, 1, 1], size=[-1, 2, 2]),
                          tf.slice(X, [0, 1, 1], [-1, 2, 2])),
        "identity": (lambda x: mb.identity(x=x), tf.identity(X)),
    }
    for i, (name, (build, want)) in enumerate(cases.items()):
        ex = save(build, {"x": X.shape}, tmp_path / str(i), has=(name.split()[0],))
        np.testing.assert_array_equal(run(ex, x=X), want.numpy(), err_msg=name)


@pytest.mark.parametrize("how", ["split_sizes", "num_splits"])
def test_split_gives_each_part(how, tmp_path):
    """(The per-field context tables of a tuned ranker reach the file as one split of the context ids.)"""
    kwargs = {"split_sizes": [1, 3]} if how == "split_sizes" else {"num_splits": 2}
    ex = save(lambda x: mb.split(x=x, axis=2, **kwargs)[-1], {"x": X.shape}, tmp_path, has=("split",))
    want = tf.split(X, [1, 3] if how == "split_sizes" else 2, axis=2)[-1]
    np.testing.assert_array_equal(run(ex, x=X), want.numpy())


def test_cast_and_integer_inputs(tmp_path):
    ex = save(lambda i: mb.cast(x=mb.add(x=i, y=np.int32(3)), dtype="fp32"), {"i": (4,)}, tmp_path,
              dtypes={"i": types.int32})
    np.testing.assert_array_equal(run(ex, i=np.array([0, 1, -5, 9], np.int32)),
                                  tf.cast(tf.constant([0, 1, -5, 9]) + 3, tf.float32).numpy())
    # an id handed over as a float is accepted only when it is a whole number: never truncated silently
    np.testing.assert_array_equal(run(ex, i=np.array([0, 1, -5, 9], np.float32)), [3, 4, -2, 12])
    with pytest.raises(InputError, match="fractional"):
        run(ex, i=np.array([0.5, 1, 2, 3], np.float32))
    ex = save(lambda i: mb.cast(x=mb.cast(x=i, dtype="uint16"), dtype="fp32"), {"i": (2,)}, tmp_path / "u16",
              dtypes={"i": types.int32})
    np.testing.assert_array_equal(run(ex, i=np.array([0, 65535], np.int32)), [0, 65535])
    with pytest.raises(InputError, match="to uint16"):  # Core ML would wrap it; the executor says so
        run(ex, i=np.array([0, 70000], np.int32))


def test_affine_dequantize_per_channel(tmp_path):
    q = RNG.integers(-128, 128, size=(5, 4)).astype(np.int8)
    scale = RNG.uniform(0.01, 0.1, size=(5,)).astype(np.float32)
    zero = RNG.integers(-3, 3, size=(5,)).astype(np.int8)
    ex = save(lambda x: mb.linear(x=x, weight=mb.constexpr_affine_dequantize(
        quantized_data=q, zero_point=zero, scale=scale, axis=0)), {"x": (3, 4)}, tmp_path, target=ct.target.iOS16,
        has=("constexpr_affine_dequantize",))
    x = RNG.normal(size=(3, 4)).astype(np.float32)
    w = (tf.cast(q, tf.float32) - tf.cast(zero, tf.float32)[:, None]) * scale[:, None]
    np.testing.assert_allclose(run(ex, x=x), tf.linalg.matmul(x, w, transpose_b=True).numpy(), rtol=1e-5, atol=1e-6)


def test_blockwise_shift_scale(tmp_path):
    data = RNG.integers(-128, 128, size=(4, 6)).astype(np.int8)
    scale = RNG.uniform(0.01, 0.1, size=(4, 2)).astype(np.float32)  # blocks of 3 along the last axis
    offset = RNG.integers(-2, 2, size=(4, 2)).astype(np.int8)
    ex = save(lambda x: mb.linear(x=x, weight=mb.constexpr_blockwise_shift_scale(data=data, scale=scale,
                                                                                 offset=offset)),
              {"x": (3, 6)}, tmp_path, target=ct.target.iOS18, has=("constexpr_blockwise_shift_scale",))
    x = RNG.normal(size=(3, 6)).astype(np.float32)
    w = (tf.cast(data, tf.float32) - tf.repeat(tf.cast(offset, tf.float32), 3, axis=1)) * tf.repeat(scale, 3, axis=1)
    np.testing.assert_allclose(run(ex, x=x), tf.linalg.matmul(x, w, transpose_b=True).numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dtype,zero", [("int8", 0), ("int8", 5), ("uint8", 128)])
def test_quantize_dequantize_round_half_to_even_and_clip(dtype, zero, tmp_path):
    scale = np.float32(0.05)
    np_dtype = np.dtype(dtype)
    x = np.concatenate([RNG.normal(scale=4.0, size=20), [0.025, 0.075, -0.025, 100.0, -100.0]]).astype(np.float32)
    ex = save(lambda x: mb.dequantize(input=mb.quantize(input=x, scale=scale, zero_point=np_dtype.type(zero),
                                                        output_dtype=dtype),
                                      scale=scale, zero_point=np_dtype.type(zero)), {"x": x.shape}, tmp_path,
              has=("quantize", "dequantize"))
    low, high = (-128, 127) if dtype == "int8" else (0, 255)
    q = tf.clip_by_value(tf.round(x / scale) + zero, low, high)  # tf.round: half to even, as MIL's quantize
    np.testing.assert_allclose(run(ex, x=x), ((q - zero) * scale).numpy(), rtol=1e-6)
    assert run(ex, x=np.array([0.025] * 25, np.float32))[0] == 0.0  # 0.5 steps round to the even 0


def test_every_op_the_executor_knows_is_tested():
    tested = set(BINARY) | set(COMPARE) | set(UNARY) | {
        "const", "sqrt", "softmax", "reduce_sum", "reduce_mean", "reduce_max", "matmul", "linear", "gather",
        "concat", "reshape", "expand_dims", "squeeze", "transpose", "slice_by_index", "slice_by_size", "split",
        "identity", "cast", "constexpr_affine_dequantize", "constexpr_blockwise_shift_scale", "quantize", "dequantize",
        "select", "logical_and", "cumsum"}
    assert set(OPS) <= tested, sorted(set(OPS) - tested)


def test_logical_and(tmp_path):
    ex = save(lambda x, y: mb.select(cond=mb.logical_and(x=mb.greater(x=x, y=0.0), y=mb.greater(x=y, y=0.0)),
                                     a=x, b=y), {"x": X.shape, "y": Y.shape}, tmp_path, has=("logical_and",))
    np.testing.assert_array_equal(run(ex, x=X, y=Y), tf.where((X > 0) & (Y > 0), X, Y).numpy())


def test_an_unknown_op_is_refused_by_name(tmp_path):
    with pytest.raises(InputError, match="MIL op 'erf'"):
        save(lambda x: mb.erf(x=x), {"x": X.shape}, tmp_path)
    assert (tmp_path / "op.mlpackage" / "Manifest.json").is_file()  # the package was made: the executor refused it
