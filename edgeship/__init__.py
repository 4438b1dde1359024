"""edgeship: train, quantize, convert, verify and benchmark on-device ranking models."""

import os

# tensorflow-model-optimization only accepts Keras 2 models; TF 2.21 ships Keras 3 unless this is set
# before tensorflow is first imported. Every subpackage is imported through here, so this always runs first.
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

__version__ = "0.1.0"
