"""Export stage: quantization, one home per format (`tflite/`, `onnx/`, `coreml/`, listed in formats.py),
the export stage that converts and verifies them (stage.py), and the bundle with its typed manifest."""
