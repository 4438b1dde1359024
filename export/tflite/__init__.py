"""TensorFlow Lite: convert (fp32, int8 PTQ and QAT), runtime (LiteRT), inspect, identity."""

SIGNATURE = "serving_default"  # the one signature every edgeship .tflite exposes
