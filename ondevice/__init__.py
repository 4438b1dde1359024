"""What runs beside the model in the app, and its host-side reference: the raw-input contract (features.json and
its encoder), the rules engine (rules.json), the fallback table (fallback.json) and the personalization study of
the trainable files. No TensorFlow: an app's logic is checked here without a model framework."""
