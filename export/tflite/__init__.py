"""TensorFlow Lite: convert (fp32, one int8 file per recipe), runtime (LiteRT: Interpreter and CompiledModel),
inspect, identity, personal (the trainable file), layers (an int8 file against fp32, op by op) and profile (time
per op type). Constants every part needs live here, so importing them never loads TensorFlow."""

SIGNATURE = "serving_default"  # the one signature every edgeship ranker .tflite exposes
# the trainable file's signatures; the first scores a request
TRAINABLE_SIGNATURES = ("infer", "train", "reset", "get_weights", "set_weights")
SCORING_SIGNATURES = (SIGNATURE, TRAINABLE_SIGNATURES[0])  # which signature of a file scores a request
L2 = 1e-3  # the trainable head's pull back toward the shipped state: a few taps cannot run away with the ranking


from ..format import Format
from .record import TFLiteDetails


class TFLite(Format):
    def trainable(self, details) -> bool:
        return details is not None and "train" in details.signatures

    def second_api(self):
        runtime = self._part("runtime")
        return runtime.COMPILED_API, runtime.CompiledSession


FORMAT = TFLite("tflite", ".tflite", "TensorFlow Lite", personal=True, record=TFLiteDetails, layers=True,
                profiled=True)
