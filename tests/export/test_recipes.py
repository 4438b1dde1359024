"""Quantization recipes: the built-ins parse, bad recipes get one line naming the file and key, and the rule
that picks the shipped int8 candidate."""

from pathlib import Path

import pytest

from edgeship.core.errors import ConfigError
from edgeship.export import recipes
from edgeship.export.recipes import Measured, choose

pytestmark = pytest.mark.unit  # TensorFlow-free: `make test-fast`


def test_every_builtin_parses_and_the_default_list_names_builtins():
    names = recipes.builtin_names()
    assert set(recipes.DEFAULT) <= set(names)
    made = recipes.resolve(names)
    assert [r.name for r in made] == list(names)  # a file's name is its recipe's name
    assert {r.format for r in made} == {"tflite", "onnx"}
    assert {r.name for r in made if not r.eight_bit} == {"float16"}
    assert recipes.for_format(made, "onnx")[0].format == "onnx"


@pytest.mark.parametrize("body, problem", [
    ('name = "x"\nformat = "tflite"\nmethod = "qdq"\n', "method: tflite recipes take one of"),
    ('name = "x"\nformat = "tflite"\nmethod = "mixed"\n', 'method "mixed" needs'),
    ('name = "x"\nformat = "tflite"\nmethod = "full_int8"\nfloat_ops = ["SOFTMAX"]\n', 'belong to method "mixed"'),
    ('name = "x"\nformat = "onnx"\nmethod = "from_tflite"\nint8_ops = ["Gemm"]\n', "int8_ops to"),
    ('name = "x"\nformat = "onnx"\nmethod = "from_tflite"\nfloat_layers = ["t1_0"]\n', "float_layers and int8_ops to"),
    ('name = "x"\nformat = "onnx"\nmethod = "qdq"\nfloat_layers = ["t1_0["]\n', "is not a regular expression"),
    ('name = "x"\nformat = "tflite"\nmethod = "mixed"\nfloat_layers = ["("]\n', "is not a regular expression"),
    ('name = "x"\nformat = "tflite"\nmethod = "mixed"\nint8_ops = ["GATHER"]\nfloat_ops = ["ADD"]\n', "exclude each"),
    ('name = "x"\nformat = "tflite"\nmethod = "full_int8"\nper_channel = true\n', "belong to onnx recipes"),
    ('name = "X Y"\nformat = "onnx"\nmethod = "qdq"\n', "name: expected lower-case"),
    ('name = "x"\nformat = "coreml"\nmethod = "qdq"\n', "format: expected one of"),
    ('name = "x"\nformat = "onnx"\nmethod = "qdq"\nactivations = "int4"\n', "activations: expected one of"),
    ('name = "x"\nformat = "onnx"\nmethod = "qdq"\nbits = 4\n', "unknown key 'bits'"),
])
def test_a_bad_recipe_is_one_line_naming_its_file(tmp_path, body, problem):
    path = tmp_path / "mine.toml"
    path.write_text(body)
    with pytest.raises(ConfigError) as e:
        recipes.resolve((str(path),))
    assert problem in str(e.value) and str(path) in str(e.value) and "\n" not in str(e.value)


def test_unknown_names_missing_files_and_twice_the_same_name(tmp_path):
    with pytest.raises(ConfigError, match=r"'int3' is neither a built-in recipe \(dynamic_range, "):
        recipes.resolve(("int3",))
    with pytest.raises(ConfigError, match="no recipe file"):
        recipes.resolve(("nowhere.toml",), base=tmp_path)
    (tmp_path / "again.toml").write_text('name = "full_int8"\nformat = "tflite"\nmethod = "full_int8"\n')
    with pytest.raises(ConfigError, match="the name 'full_int8' is given twice"):
        recipes.resolve(("full_int8", "again.toml"), base=tmp_path)
    assert recipes.resolve(("again.toml",), base=tmp_path)[0].method == "full_int8"


def test_a_config_resolves_recipe_files_next_to_it(tmp_path, capsys):
    from edgeship.config import load_config

    (tmp_path / "r.toml").write_text('name = "mine"\nformat = "onnx"\nmethod = "qoperator"\nper_channel = true\n')
    (tmp_path / "run.toml").write_text('[quantization]\nrecipes = ["full_int8", "r.toml"]\nchoose = "size"\n')
    cfg = load_config(tmp_path / "run.toml")
    assert cfg.quantization.recipes == ("full_int8", str(tmp_path / "r.toml")) and cfg.quantization.choose == "size"
    (tmp_path / "bad.toml").write_text('[quantization]\nchoose = "fast"\n')
    with pytest.raises(ConfigError, match=r"\[quantization\] choose: expected one of 'speed', 'size', 'quality'"):
        load_config(tmp_path / "bad.toml")


def _m(name, p50, size=100, quality=0.30, passed=True, eight_bit=True):
    return Measured(name, eight_bit, passed, () if passed else ("NDCG@10 ratio 0.95 < floor 0.99",), size, quality,
                    p50)


def test_speed_ships_the_fastest_eligible_and_says_why_each_lost():
    table = [_m("full_int8", 0.054), _m("float16", 0.020, eight_bit=False), _m("broken", 0.010, passed=False),
             _m("float_tables", 0.015, size=300), _m("int8_dense", 0.021), _m("dynamic", 0.030, size=110)]
    best, why = choose(table, "speed", 1.25)
    assert table[best].name == "int8_dense"
    assert why[0] == "lost: p50 2.57x the winner's"
    assert why[1].startswith("lost: 16-bit weights") and why[2].startswith("lost: below the floors (NDCG@10")
    assert why[3] == "lost: 300 bytes > 1.25x the smallest that holds the floors (125)"
    assert why[4].startswith("won: best p50 of 3 eligible")


def test_speed_within_the_tie_band_goes_to_quality_then_to_the_earlier_recipe():
    table = [_m("a", 0.0200, quality=0.30), _m("b", 0.0225, quality=0.31), _m("c", 0.0260, quality=0.40)]
    best, why = choose(table, "speed", 1.25)
    assert best == 1 and why[0].startswith("lost: as fast within 15%, NDCG@10 0.3000 vs the winner's 0.3100")
    assert why[2] == "lost: p50 1.16x the winner's"
    assert choose([_m("a", 0.020), _m("b", 0.020)], "speed", 1.25)[0] == 0
    # as fast and as good (NDCG@10 within 0.002): the smaller file, however the p50s fell within the band
    best, why = choose([_m("big", 0.020, size=110, quality=0.35270), _m("small", 0.022, size=100, quality=0.35268)],
                       "speed", 1.25)
    assert best == 1 and why[0] == "lost: as fast within 15% and as good within 0.002: 110 bytes vs the winner's 100"
    assert choose([_m("untimed", None), _m("timed", 0.5)], "speed", 1.25)[0] == 1


def test_size_and_quality_rules_and_nothing_eligible():
    table = [_m("a", 0.02, size=120, quality=0.30), _m("b", 0.03, size=100, quality=0.29),
             _m("c", 0.01, size=110, quality=0.31)]
    assert choose(table, "size", 1.25)[0] == 1
    assert choose(table, "quality", 1.25)[0] == 2
    best, why = choose([_m("a", 0.02, passed=False), _m("h", 0.01, eight_bit=False)], "speed", 1.25)
    assert best is None and all(w.startswith("lost") for w in why)


def test_the_builtin_folder_holds_only_recipes():
    assert all(p.suffix in (".toml", ".py") for p in Path(recipes.FOLDER).iterdir() if p.is_file())


def test_the_layer_report_names_the_weakest_int8_layers():
    from edgeship.export.layer_report import CandidateLayers, LayerError, LayerReport, markdown, short

    def layer(tensor, snr, scale=0.01, dtype="int8"):
        return LayerError("MUL", tensor, dtype, snr, 0.9, 0.01, 0.1, scale, 0)

    assert short("edgeship_ranker/tf.math.multiply_1/Mul;edgeship_ranker/x") == "tf.math.multiply_1"
    layers = [layer("m/attention_match/mul", 18.0), layer("m/logit/BiasAdd", 36.0), layer("m/ids/concat", None, 0.0,
                                                                                           "int32"),
              layer("m/tf.math.multiply_1/Mul", 3.7), layer("m/kept/float", 2.0, 0.0, "float32")]
    text = markdown(LayerReport(1, 50, 20.0, {"ranker_int8.tflite": [CandidateLayers("int8_dense", True, layers)]}))
    assert "`tf.math.multiply_1` (3.7 dB), `attention_match` (18.0 dB)." in text  # float and exact layers not named
    assert "float_layers = ['tf\\.math\\.multiply_1', 'attention_match']" in text
    assert "a `tf.*` name carries a counter" in text
    assert "| 2 | MUL | `ids` | int32 | exact |" in text and "| float |" in text
