"""What a model format is to edgeship: the one interface every format implements in its own folder.

A format's folder (`export/<name>/`) defines one instance of a `Format` subclass in its `__init__.py`, as
`FORMAT`; `export/formats.py` lists those instances, and no other shared code names a format. The heavy parts
are modules of the folder, imported only when a method needs them, so that a benchmark worker holds only the
runtime it measures and never TensorFlow:

  convert   export(job, out_dir, derived) -> list[Artifact]
  personal  export(job, out_dir, derived) -> Artifact                (formats with personal=True)
  runtime   RUNTIME, version(), load_library(), open_session(path, threads, error) -> Session
            (invoke / run), and Trainer(path, threads, error) where personal=True
  inspect   signature(path, error) -> Signature, facts(path) -> ModelFacts, trainable_problems(path)
  identity  write(inputs, path): the same inputs, no computation      (formats benchmarks can time)
  layers    errors(fp32, int8, requests) -> [LayerError]: an int8 file against its fp32 file, op by op
            (formats with layers=True)
  profile   METHOD, by_op(path, feeds, rounds, invokes) -> (µs, [(op type, nodes, µs)]): where its time goes
            (formats with profiled=True)
  readme    files(manifest) -> str, personal(manifest, entry, study) -> str: its part of the bundle README
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from pathlib import Path

from ..core.errors import EdgeshipError, InputError

# how far a runtime on another CPU may drift from the outputs recorded in the test vectors on this host
ATOL = {"fp32": 1e-5, "int8": 0.1}  # int8: about two steps of the int8 logit output (scale ~0.04-0.06)


@dataclass(frozen=True)
class Format:
    name: str
    suffix: str
    title: str  # how people call it
    needs: tuple[str, ...] = ()  # formats whose shipped files this one converts from (exported before it)
    timed: bool = True  # benchmarks can time it on this host (an identity model and a CPU runtime here)
    personal: bool = False  # makes a file that learns its user on the device (a `personal` part)
    record: type | None = None  # its own facts record, under its key in each manifest artifact entry
    layers: bool = False  # can compare an int8 file with its fp32 file layer by layer (a `layers` part)
    profiled: bool = False  # can say where a file's time goes per operator type (a `profile` part)
    profile_part: str = ""  # the folder whose `profile` part it uses, when not its own (ORT files: onnx's)

    def _part(self, part: str):
        return import_module(f"{__package__}.{self.name}.{part}")

    # converting
    def convert(self, job, out_dir: Path, derived) -> list:
        return self._part("convert").export(job, out_dir, derived)

    @property
    def personal_file(self) -> str:
        """The name its trainable file ships as."""
        return self._part("personal").NAME

    def convert_personal(self, job, out_dir: Path, derived):
        return self._part("personal").export(job, out_dir, derived)

    def layer_errors(self, fp32: Path, int8: Path, requests) -> list:
        return self._part("layers").errors(fp32, int8, requests)

    def op_profile(self, path: Path, feeds, rounds: int = 15, invokes: int = 100):
        part = import_module(f"{__package__}.{self.profile_part or self.name}.profile")
        return part.METHOD, part.by_op(path, feeds, rounds, invokes)

    # running
    @property
    def runtime(self) -> str:
        """The name of what executes its files here (manifest and bench.json say it)."""
        return self._part("runtime").RUNTIME

    def runtime_version(self) -> str:
        return self._part("runtime").version()

    def load_runtime(self) -> None:
        self._part("runtime").load_library()

    def open_session(self, path: Path, threads: int = 1, error: type[EdgeshipError] = InputError):
        return self._part("runtime").open_session(path, threads, error)

    def second_api(self):
        """(name, open) of another API of its runtime, open(path).scores(feeds) scoring one request; None where
        the runtime has one API."""
        return None

    def trainer(self, path: Path, threads: int = 1, error: type[EdgeshipError] = InputError):
        return self._part("runtime").Trainer(path, threads, error=error)

    # reading a file alone (ours or foreign)
    def signature(self, path: Path, error: type[EdgeshipError] = InputError):
        return self._part("inspect").signature(path, error)

    def facts(self, path: Path):
        return self._part("inspect").facts(path)

    def trainable_problems(self, path: Path) -> list[str]:
        return self._part("inspect").trainable_problems(path)

    def write_identity(self, inputs, path: Path) -> Path:
        return self._part("identity").write(inputs, path)

    # what the bundle says of its files
    def tolerance(self, precision: str) -> float:
        """How far its outputs on another device may drift from the test vectors recorded here."""
        return ATOL[precision]

    def trainable(self, details) -> bool:
        """Whether a shipped file with these facts (its manifest entry's record) learns on the device."""
        return False

    def side_files(self, details) -> dict[str, str]:
        """Files beside the artifact that the bundle carries for it: name -> sha256."""
        return {}

    def readme_files(self, manifest) -> str:
        """Its bullet under the bundle README's Files."""
        return self._part("readme").files(manifest)

    def readme_personal(self, manifest, entry, study) -> str:
        """The app protocol of its trainable file, with the study's figures when there is one."""
        return self._part("readme").personal(manifest, entry, study)
