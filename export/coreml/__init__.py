"""Core ML: convert (NeuralNetwork .mlmodel, fp32 and 8-bit weights), runtime (Core ML on Apple platforms, the
NumPy executor of the saved spec elsewhere), inspect. No identity model: benchmarks cannot time Core ML here."""

MINIMUM_DEPLOYMENT = {"iOS": "13", "macOS": "10.15"}  # NeuralNetwork spec version 4 (ND layers)
