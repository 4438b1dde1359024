"""ONNX: convert (tf2onnx), runtime (ONNX Runtime), inspect, identity."""

OPSET = 17
