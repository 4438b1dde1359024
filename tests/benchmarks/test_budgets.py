import pytest

from edgeship.benchmarks.budgets import load_profile, read_budgets
from edgeship.core.errors import ConfigError

pytestmark = pytest.mark.unit  # TensorFlow-free: `make test-fast`


def test_shipped_budgets_have_the_device_profiles():
    profiles, where = read_budgets(None)
    assert {"low-end-android", "mid-range-android", "iphone", "regression"} <= set(profiles)
    low = profiles["low-end-android"]
    assert low.formats == ("tflite",) and low.precisions == ("int8",) and low.threads == 1
    assert low.max_bytes == 524288 and low.mobile_ops_only and not low.relative
    assert profiles["regression"].relative


@pytest.mark.parametrize("text, message", [
    ("[profiles.a]\nmax_bytes = 'big'\n", "[profiles.a] max_bytes: expected an integer, got 'big'"),
    ("[profiles.a]\nmax_bytes = -1\n", "[profiles.a] max_bytes: expected an integer >= 0, got -1"),
    ("[profiles.a]\nmax_p50_mss = 1.0\n", "[profiles.a]: unknown key 'max_p50_mss'"),
    ("[profiles.a]\nformats = ['tflite', 'pt']\n", "[profiles.a] formats: expected one of 'tflite', 'onnx', 'coreml'"),
    ("[profiles.a]\nthreads = 0\n", "[profiles.a] threads: expected an integer >= 1, got 0"),
    ("[profiles.a]\nmobile_ops_only = 1\n", "[profiles.a] mobile_ops_only: expected true or false"),
    ("[profile.a]\nmax_bytes = 1\n", "unknown key 'profile' (expected one of: profiles)"),
    ("[profiles.a\nmax_bytes = 1\n", "not valid TOML"),
    ("title = 'x'\n[profiles]\n", "unknown key 'title'"),
    ("[profiles]\n", "no [profiles.<name>] tables"),
])
def test_bad_budgets_name_the_field(tmp_path, text, message):
    path = tmp_path / "budgets.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as e:
        read_budgets(path)
    assert message in str(e.value) and str(path) in str(e.value) and "\n" not in str(e.value)


def test_unknown_profile_lists_the_known_ones(tmp_path):
    with pytest.raises(ConfigError, match=r"unknown profile 'pixel' \(profiles: iphone, low-end-android"):
        load_profile(None, "pixel")
    with pytest.raises(ConfigError, match="budgets file not found"):
        load_profile(tmp_path / "none.toml", "a")
