"""Open a saved model only when it is a plain `.keras` archive of standard layers.

A model file a user drops may come from anywhere. Before Keras sees it, LayerLab checks it
itself, with `zipfile` and `json` only: a regular file of bounded size, a zip archive (not an
HDF5 `.h5` file, a SavedModel folder or random bytes), whose members are exactly those a Keras
archive has (no absolute path, no `..`), of bounded size and compression ratio (no zip bomb),
and whose `config.json` names no code (Lambda layers, `TFSMLayer`, functions, modules outside
Keras and LayerLab). Keras then loads it in safe mode; anything it still refuses is reported in
LayerLab's words, never with Keras's advice to turn safe mode off.
"""

from __future__ import annotations

import json
import struct
import threading
import warnings
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.architectures import custom_objects
from engine.core.errors import RunError
from engine.core.files import check_regular_file, format_bytes, printable_name, printable_path

if TYPE_CHECKING:  # pragma: no cover - typing only
    from engine.images.spec import PreprocessSpec

MAX_MODEL_FILE_BYTES = 4 * 2**30  # VGG16 with its head is about 0.6 GiB
MAX_MODEL_UNPACKED_BYTES = 8 * 2**30
MAX_CONFIG_BYTES = 64 * 2**20
MAX_MEMBERS = 10_000
# A member that unpacks to more than `BOMB_FLOOR_BYTES` and over `MAX_RATIO` times its packed
# size is a zip bomb, not a model (weights barely compress; Keras stores them uncompressed).
BOMB_FLOOR_BYTES = 64 * 2**20
MAX_RATIO = 100

KERAS_MEMBERS = ("config.json", "metadata.json", "model.weights.h5", "model.weights.npz")
ASSETS = "assets/"
# Keras classes that carry code or load other files, and the modules a LayerLab model's classes
# come from (Keras itself, and LayerLab's own registered layers).
CODE_CLASSES = {
    "Lambda": "a Lambda layer",
    "TFSMLayer": "a TensorFlow SavedModel layer",
    "__lambda__": "a Python lambda",
}
TRUSTED_MODULES = ("keras", "engine.architectures.preprocessing", "engine.architectures.capsnet")

_CODE_REFUSAL = "the file holds code ({what}) that LayerLab will not run; it opens only models made of standard layers"


def check_keras_archive(path: str | Path) -> dict[str, Any]:
    """Check everything `load_model_file` checks before Keras; return the archive's config."""
    path = Path(path).expanduser()
    name = printable_path(path)
    if path.is_dir():
        raise RunError(
            f"{name} is a folder (a TensorFlow SavedModel?); LayerLab loads models saved as .keras files only"
        )
    check_regular_file(path, max_bytes=MAX_MODEL_FILE_BYTES, error=RunError, what="a model file")
    if path.suffix != ".keras":
        raise RunError(f"{printable_name(path)}: LayerLab loads models saved as .keras files only")
    with open(path, "rb") as f:
        head = f.read(8)
    if head.startswith(b"\x89HDF"):
        raise _refusal(name, "it is an HDF5 (.h5) model, not a .keras archive; LayerLab does not load HDF5 models")
    try:
        with zipfile.ZipFile(path) as archive:
            _check_members(archive.infolist(), name)
            config = _read_config(archive, name)
    except zipfile.BadZipFile:
        raise _refusal(name, "it is not a Keras model file (not a .keras archive)") from None
    except (OSError, EOFError, ValueError, NotImplementedError, RuntimeError, zlib.error, struct.error) as err:
        raise _refusal(name, f"it is a damaged Keras model file ({_first_line(err)})") from None
    refuse_code(config, name)
    return config


def _refusal(name: str, reason: str) -> RunError:
    return RunError(f"cannot load model {name}: {reason}")


def _check_members(infos: list[zipfile.ZipInfo], name: str) -> None:
    if len(infos) > MAX_MEMBERS:
        raise _refusal(name, f"it holds {len(infos):,} files: not a Keras model archive")
    seen: set[str] = set()
    for info in infos:
        member = info.filename
        parts = member.replace("\\", "/").split("/")
        if member.startswith(("/", "\\")) or "\\" in member or ".." in parts or ":" in parts[0]:
            raise _refusal(name, f"it holds a file with an unsafe path ({member[:80]!r}): not a Keras model archive")
        if member not in KERAS_MEMBERS and not member.startswith(ASSETS):
            raise _refusal(
                name,
                f"it holds an unexpected file {member[:80]!r}; a Keras model archive holds only "
                "config.json, metadata.json, model.weights.h5 and assets/",
            )
        if member in seen:
            raise _refusal(name, f"it holds {member[:80]!r} twice: not a Keras model archive")
        seen.add(member)
        if info.file_size > BOMB_FLOOR_BYTES and info.file_size > MAX_RATIO * max(1, info.compress_size):
            raise _refusal(
                name,
                f"{member} would unpack to {format_bytes(info.file_size)} from "
                f"{format_bytes(info.compress_size)} (a zip bomb?)",
            )
    total = sum(info.file_size for info in infos)
    if total > MAX_MODEL_UNPACKED_BYTES:
        raise _refusal(
            name,
            f"it would unpack to {format_bytes(total)}; LayerLab's limit for a model is "
            f"{format_bytes(MAX_MODEL_UNPACKED_BYTES)}",
        )
    if "config.json" not in seen or not {"model.weights.h5", "model.weights.npz"} & seen:
        raise _refusal(name, "it is not a complete Keras model archive (config.json or the weights are missing)")


def _read_config(archive: zipfile.ZipFile, name: str) -> dict[str, Any]:
    info = archive.getinfo("config.json")
    if info.file_size > MAX_CONFIG_BYTES:
        raise _refusal(name, f"its config.json is too big ({format_bytes(info.file_size)})")
    try:
        config = json.loads(archive.read(info).decode("utf-8"))
    except (ValueError, RecursionError):  # bad UTF-8 or bad JSON
        raise _refusal(name, "it is a damaged Keras model file (its config.json is not valid JSON)") from None
    if not isinstance(config, dict):
        raise _refusal(name, "it is a damaged Keras model file (its config.json is not an object)")
    return config


def refuse_code(config: Any, name: str) -> None:
    """`RunError` when the model config names anything that carries code (see `CODE_CLASSES`)."""
    for node in _dicts(config):
        class_name = node.get("class_name")
        if isinstance(class_name, str) and class_name in CODE_CLASSES:
            raise _refusal(name, _CODE_REFUSAL.format(what=CODE_CLASSES[class_name]))
        module = node.get("module")
        if isinstance(module, str) and not module.startswith(TRUSTED_MODULES):
            raise _refusal(name, _CODE_REFUSAL.format(what=f"from the Python module {module[:60]!r}"))
        if node.get("function_type") is not None:
            raise _refusal(name, _CODE_REFUSAL.format(what="a Python function"))


def _dicts(value: Any) -> Iterator[dict[str, Any]]:
    """Every JSON object inside `value`, without recursion (configs can nest deeply)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            yield item
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def load_model_file(path: str | Path) -> Any:
    """Load a checked `.keras` model in Keras safe mode (imports Keras); `RunError` otherwise."""
    path = Path(path).expanduser()
    check_keras_archive(path)
    # TensorFlow: imported here, so importing this module stays cheap
    import keras

    name = printable_path(path)
    try:
        with _LOADING, warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model = keras.saving.load_model(path, custom_objects=custom_objects(), safe_mode=True, compile=False)
    except MemoryError:
        raise _refusal(name, "it is too big to load in the memory available") from None
    except Exception as err:  # corrupt weights, unknown layer, unsafe content...
        text = str(err)
        if "safe_mode" in text or "unsafe" in text.lower() or "lambda" in text.lower():
            raise _refusal(name, _CODE_REFUSAL.format(what="Python code")) from None
        raise _refusal(name, _first_line(err)) from None
    mismatches = [w for w in caught if issubclass(w.category, UserWarning)]
    if mismatches:
        # Keras loads what it can and warns about the rest: layers that would keep random weights.
        raise _refusal(name, f"its saved weights do not fit its layers ({_first_line(mismatches[0].message)})")
    return model


# Keras reports weights it could not load as warnings; recording them changes the process's
# warning filters, so loads are serialised (they are rare and slow anyway).
_LOADING = threading.Lock()


def check_model_matches(model: Any, spec: PreprocessSpec, class_names: Sequence[str], where: str = "the model") -> None:
    """`RunError` unless `model` takes the images `spec` prepares and has one output per class name.

    A `model.keras` copied from another run, or a hand-edited `preprocess.json`, would otherwise
    fail deep inside TensorFlow, or worse, answer with the wrong labels.
    """
    try:
        inputs, outputs = list(model.inputs), list(model.outputs)
    except (AttributeError, ValueError):
        raise RunError(f"{where} is not an image classifier LayerLab can use (it has no defined inputs)") from None
    if len(inputs) != 1 or len(outputs) != 1:
        raise RunError(f"{where} has {len(inputs)} inputs and {len(outputs)} outputs; LayerLab needs one of each")
    shape = tuple(inputs[0].shape[1:])
    expected = (spec.height, spec.width, spec.channels)
    if len(shape) != 3 or any(have is not None and have != want for have, want in zip(shape, expected)):
        raise RunError(
            f"{where} takes inputs of shape {_shape(shape)} but preprocess.json prepares "
            f"{_shape(expected)} images: the two do not belong together"
        )
    if len(outputs[0].shape) != 2:  # e.g. an autoencoder's image (engine.inference.reconstruction reconstructs with it)
        raise RunError(
            f"{where} outputs {_shape(tuple(outputs[0].shape[1:]))} images, not one score per class: "
            "it is not a classifier (an autoencoder?)"
        )
    units = outputs[0].shape[-1]
    if class_names and units != len(class_names):
        raise RunError(
            f"{where} has {units} outputs but {len(class_names)} class names are known for it "
            "(is the model from another run?)"
        )


def _shape(shape: Sequence[Any]) -> str:
    return "×".join("?" if d is None else str(d) for d in shape)


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0][:200] if text else type(err).__name__
