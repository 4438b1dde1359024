"""ONNX: convert (tf2onnx), runtime (ONNX Runtime), inspect, identity."""

OPSET = 17

from ..format import Format
from .record import OnnxDetails

# needs tflite: the onnx_from_tflite recipe converts the shipped int8 .tflite (export/recipes/)
FORMAT = Format("onnx", ".onnx", "ONNX", needs=("tflite",), record=OnnxDetails, profiled=True,
                layers=True)
