import pytest

from edgeship.config import load_config
from edgeship.core.errors import ConfigError

pytestmark = pytest.mark.unit  # TensorFlow-free: `make test-fast`


def test_defaults_and_overrides(tmp_path):
    cfg = load_config(None)
    assert cfg.export.candidates == 100 and cfg.seed == 7
    path = tmp_path / "c.toml"
    path.write_text('seed = 11\n[train]\nepochs = 2\n[model]\nhidden = [32, 16]\n'
                    '[export.identity]\nauthor = "Acme Mobile"\nlicense = "Proprietary"\n')
    cfg = load_config(path, {"seed": 12})
    assert cfg.seed == 12 and cfg.train.epochs == 2 and cfg.model.hidden == (32, 16)
    assert (cfg.export.identity.author, cfg.export.identity.license, cfg.export.identity.version) == (
        "Acme Mobile", "Proprietary", "1")


@pytest.mark.parametrize("text, message", [
    ("seed = ", "not valid TOML"),
    ("[train]\nepochs = 'many'\n", r"\[train\] epochs: expected an integer"),
    ("[train]\nepoch = 3\n", r"\[train\]: unknown key 'epoch'"),
    ("[export]\nformats = ['tflite', 'pt']\n", r"\[export\] formats: expected one of 'tflite', 'onnx', 'coreml', 'mlprogram', 'ort', got 'pt'"),
    ("seed = -1\n", r"seed: expected an integer in \[0, 4294967295\], got -1"),
    ("[model]\nhidden = []\n", r"\[model\] hidden: expected a non-empty list of integers"),
    ("[export]\nformats = ['onnx']\n", "onnx needs tflite"),
    ("[train]\nepochs = -1\n", r"\[train\] epochs: expected an integer >= 0, got -1"),  # 0: from the rows
    ("[floors]\nint8_ndcg_ratio = 1.5\n", r"\[floors\] int8_ndcg_ratio"),
    ("[export]\ncandidates = 9000\n", "more than \\[data\\] items"),
    ("train = 3\n", r"\[train\]: expected a table"),
])
def test_bad_config_names_file_and_field(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message) as e:
        load_config(path)
    assert str(path) in str(e.value) and "\n" not in str(e.value)


def test_an_option_is_checked_like_the_key_and_named_as_an_option():
    with pytest.raises(ConfigError) as e:
        load_config(None, {"seed": -1})
    assert (e.value.option, e.value.message) == ("seed", "expected an integer in [0, 4294967295], got -1")
    assert load_config(None, {"seed": 5}).seed == 5


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.toml")
