"""ORT format (.ort): the file ONNX Runtime Mobile loads, with the operator list a reduced build needs.
convert (onnxruntime.tools), runtime and identity (ONNX Runtime, as for .onnx), inspect."""

TARGET_PLATFORM = "arm"  # phones: ARM-only fusions (int8 QDQ kept as int8) are allowed, x86-only ones left out
REQUIRED_OPERATORS = "required_operators.config"  # --include_ops_by_config of a reduced ORT Mobile build


from ..format import Format
from .record import OrtDetails


class Ort(Format):
    def side_files(self, details) -> dict[str, str]:
        return {} if details is None else {details.required_operators: details.required_operators_sha256}


FORMAT = Ort("ort", ".ort", "ORT format (ONNX Runtime Mobile)", needs=("onnx",), record=OrtDetails, profiled=True,
            profile_part="onnx")
