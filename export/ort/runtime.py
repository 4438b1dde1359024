"""An .ort file runs in the same ONNX Runtime as an .onnx: one runtime, shared."""

from ..onnx.runtime import RUNTIME, Session, load_library, open_session, version  # noqa: F401
