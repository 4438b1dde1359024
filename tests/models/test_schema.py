from pathlib import Path

import pytest

from edgeship.core.errors import ConfigError
from edgeship.models.schema import load_schema

pytestmark = pytest.mark.unit  # TensorFlow-free: `make test-fast`

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "open_bandit_schema.toml"


def test_example_schema_loads():
    s = load_schema(EXAMPLE)
    assert (s.item, s.label, s.timestamp) == ("item_id", "click", "timestamp")
    assert s.group_by == s.context and len(s.context) == 4
    assert s.numeric == ("user-item_affinity_*",) and s.session_seconds == 3600 and s.items == "auto"
    assert s.history_len == 4


def test_numeric_columns_are_optional_and_fields_take_their_own_encoding(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text('[columns]\nitem = "i"\nlabel = "y"\ncontext = ["a", "b"]\n[lists]\ngroup_by = ["r"]\n'
                    '[encoding]\ncontext_buckets = 32\n[encoding.fields]\na = "hash:128"\nb = "vocabulary"\n')
    s = load_schema(path)
    assert s.numeric == () and s.field_rule("a") == ("hash", 128) and s.field_rule("b") == ("vocabulary", 32)


MINIMAL = '[columns]\nitem = "i"\nlabel = "y"\nnumeric = ["x"]\n[lists]\ngroup_by = ["r"]\n'


@pytest.mark.parametrize("text, message", [
    ('[columns]\nlabel = "y"\nnumeric = ["x"]\n[lists]\ngroup_by = ["r"]\n', "[columns] item: required"),
    ('[columns]\nitem = "i"\nlabel = "y"\nnumeric = ["x"]\n',
     "[lists] group_by: required (which columns form a candidate list)"),
    (MINIMAL + "[columns2]\n", "unknown key 'columns2' (expected one of: columns, lists, encoding, split, logging)"),
    (MINIMAL.replace('item = "i"', 'item = 3'), "[columns] item: expected a string, got 3"),
    (MINIMAL.replace('numeric = ["x"]', 'numeric = "x"'), "[columns] numeric: expected a non-empty list of strings"),
    (MINIMAL.replace('numeric = ["x"]', 'numeric = []'), "[columns] numeric: expected a non-empty list of strings"),
    (MINIMAL.replace('label = "y"', 'label = "y"\nlabels = "z"'), "[columns]: unknown key 'labels'"),
    (MINIMAL + "session_seconds = 60\n", "session_seconds needs [columns] timestamp"),
    (MINIMAL + "[split]\ntest_fraction = 0.7\n", "[split] test_fraction: expected a number in (0, 0.5)"),
    (MINIMAL + "[encoding]\nitem_buckets = 1\n", "[encoding] item_buckets: expected an integer >= 2"),
    (MINIMAL + "[encoding\n", "not valid TOML"),
])
def test_bad_schema_names_section_and_key(tmp_path, text, message):
    path = tmp_path / "schema.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as e:
        load_schema(path)
    assert message in str(e.value) and str(e.value).startswith(str(path)) and "\n" not in str(e.value)
