"""The generated Swift: its embedded constants are features.json's (the JSON it decodes at start-up), and it
type-checks against Core ML with swiftc on macOS (no Swift toolchain or Core ML exists for Linux)."""

from __future__ import annotations

import platform
import shutil
import subprocess

import pytest

import clients.codegen as integration
from clients.codegen import ios


def test_the_file_embeds_the_contracts_constants(reference_contract):
    text = ios.render(reference_contract)
    assert integration.embedded(text) == integration.constants(reference_contract)
    assert '#"""' in text and 'config.computeUnits = .cpuOnly' in text  # a raw string: JSON escapes stay JSON


@pytest.mark.skipif(platform.system() != "Darwin" or shutil.which("swiftc") is None,
                    reason="swiftc and Core ML exist on macOS only; this machine has neither")
def test_swift_type_checks_against_core_ml(reference_contract, tmp_path):
    integration.write(reference_contract, tmp_path)
    done = subprocess.run(["swiftc", "-typecheck", str(tmp_path / integration.FOLDER / ios.FILE)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
