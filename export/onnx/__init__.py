"""ONNX: convert (tf2onnx), runtime (ONNX Runtime), inspect, identity."""

OPSET = 17

from ..format import Format
from .record import OnnxDetails

# the int8 .onnx is the shipped int8 .tflite as a QDQ graph
FORMAT = Format("onnx", ".onnx", "ONNX", needs=("tflite",), record=OnnxDetails)
