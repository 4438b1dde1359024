import pytest

from edgeship.core.errors import EdgeshipError
from edgeship.export.bundle import staging


def test_existing_bundle_is_kept_without_force(tmp_path):
    out = tmp_path / "bundle"
    out.mkdir()
    (out / "manifest.json").write_text("old")
    with pytest.raises(EdgeshipError, match="already holds a bundle"):
        with staging(out, force=False):
            pass
    assert (out / "manifest.json").read_text() == "old"


def test_failure_inside_leaves_old_bundle_and_no_staging(tmp_path):
    out = tmp_path / "bundle"
    out.mkdir()
    (out / "manifest.json").write_text("old")
    with pytest.raises(RuntimeError):
        with staging(out, force=True) as stage:
            (stage / "manifest.json").write_text("half")
            raise RuntimeError("converter crashed")
    assert (out / "manifest.json").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bundle"]


def test_success_replaces_atomically_with_force(tmp_path):
    out = tmp_path / "bundle"
    out.mkdir()
    (out / "stale.tflite").write_text("old")
    with staging(out, force=True) as stage:
        (stage / "manifest.json").write_text("new")
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bundle"]


def test_bundle_moved_aside_by_a_killed_forced_run_is_put_back(tmp_path):
    import subprocess

    from edgeship.export.bundle import clean_stale_staging

    dead = subprocess.Popen(["true"])
    dead.wait()  # a pid that has exited: the run that owned it is gone
    out = tmp_path / "bundle"
    aside = tmp_path / f".bundle.old-{dead.pid}"
    aside.mkdir()
    (aside / "manifest.json").write_text("{}")
    clean_stale_staging(out)
    assert (out / "manifest.json").read_text() == "{}" and not aside.exists()
