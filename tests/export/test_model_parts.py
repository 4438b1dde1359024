"""Each optional part of the ranker (attention, cross layers, dropout, a table per context field) converts to every
format and its int8 files pass the floors: a tiny model with all of them, through the real export stage."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from edgeship.export.exporter import export_formats
from edgeship.export.parity import ParityCheck
from edgeship.export.quantization import quantization_aware_model, representative_dataset
from edgeship.export.types import ExportJob
from edgeship.models.data import calibration_requests
from edgeship.models.ranker import build_ranker, predict, with_fixed_shape
from edgeship.models.training import TrainConfig, fit, seed_everything


def test_attention_cross_and_dropout_convert_and_pass_the_int8_floors(tiny_data, tiny_config, tmp_path):
    fields = [f.name for f in tiny_data.spec.context_fields]
    cfg = replace(tiny_config.model, attention=True, cross_layers=2, dropout=0.2,
                  context_dims={fields[0]: 2, fields[-1]: 6})
    seed_everything(tiny_config.seed)
    model = build_ranker(tiny_data.spec, cfg)
    names = {layer.name for layer in model.layers}
    assert {"attention_weights", "attended_history", "cross_0", "cross_1", "join_dropout"} <= names
    # per-field embedding sizes: one table per field, of its own width
    widths = [model.get_layer(f"context_{i}_embedding").output_dim for i in range(len(fields))]
    assert widths == [2] + [cfg.context_dim] * (len(fields) - 2) + [6]
    fit(model, tiny_data.train, tiny_data.valid, tiny_config.seed,
        schedule=TrainConfig(epochs=3, batch_size=64, learning_rate=5e-3, early_stopping="auc", lr_decay=0.7))
    # QAT clones the model layer by layer: every part must survive that too
    qat = quantization_aware_model(model)
    fit(qat, tiny_data.train, tiny_data.valid, tiny_config.seed, schedule=TrainConfig(epochs=1, batch_size=64))
    assert np.isfinite(predict(qat, tiny_data.test.take(slice(0, 2)).inputs())).all()
    k = tiny_config.export.candidates
    test = tiny_data.test.take(slice(0, tiny_config.export.verify_requests))
    reference = predict(model, test.inputs())
    fixed = with_fixed_shape(model, tiny_data.spec, cfg, k)
    # dropout is training-only: the fixed (inference) copy scores exactly like the trained model
    np.testing.assert_allclose(predict(fixed, test.take(slice(0, 1)).inputs(), batch_size=1)[0], reference[0],
                               atol=1e-5)
    job = ExportJob(model=fixed, spec=tiny_data.spec, candidates=k, qat_model=qat,
                    calibration=representative_dataset(calibration_requests(tiny_data.train, k, 30, tiny_config.seed)))
    # every format: the per-field tables reach the ML Program as a MIL split (the executor once refused it)
    outcome = export_formats(job, ("tflite", "onnx", "coreml", "mlprogram", "ort"), tmp_path,
                             ParityCheck(test, reference, tiny_config.floors), progress=lambda _: None)
    assert outcome.failures == []
    shipped = {s.artifact.path.name: s.verification for s in outcome.shipped}
    assert {"ranker_int8.tflite", "ranker_int8.onnx", "ranker_int8.mlmodel", "ranker_fp32.tflite",
            "ranker_fp32.onnx", "ranker_fp32.mlmodel", "ranker_fp32.mlpackage", "ranker_int8.mlpackage",
            "ranker_w8a8.mlpackage", "ranker_int8.ort"} <= set(shipped)
    for name, v in shipped.items():
        assert v.passed, (name, v.reasons)
        if "fp32" in name:
            assert v.max_abs_diff < 1e-4
        else:
            assert v.ndcg_ratio >= tiny_config.floors.int8_ndcg_ratio
