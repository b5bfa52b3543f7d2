"""User-facing errors: each carries a message a person can act on (no traceback needed)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydantic import ValidationError

# Lone surrogates that are not Python's escapes of undecodable bytes (U+DC80..U+DCFF).
_OTHER_SURROGATES = re.compile("[\ud800-\udc7f\udd00-\udfff]")


class LayerLabError(Exception):
    """Base class: `str(err)` is a complete, one-line explanation for the user.

    The message is made printable here, once for every error: line breaks become spaces, and
    lone surrogates (what a file name that is not UTF-8 becomes in Python) become U+FFFD, so any
    terminal, log or label can show it.
    """

    def __init__(self, message: object = "", *args: object) -> None:
        super().__init__(printable_text(str(message)), *args)


def printable_text(text: str) -> str:
    """`text` on one line, encodable as UTF-8 (undecodable file-name bytes shown as �)."""
    raw = _OTHER_SURROGATES.sub("\ufffd", text).encode("utf-8", "surrogateescape")
    return " ".join(raw.decode("utf-8", "replace").splitlines())


class DatasetError(LayerLabError):
    """A dataset cannot be loaded (missing download, bad folder, bad npz...)."""


class ImageError(LayerLabError):
    """An image file cannot be decoded or used (not an image, corrupt, too large...)."""


class ArchitectureError(LayerLabError):
    """An architecture cannot be built with these options or this input."""


class ConfigError(LayerLabError):
    """An experiment config is invalid (bad value, unknown layer name...)."""


class RunError(LayerLabError):
    """A run directory or saved model cannot be read or written."""


class ExportError(LayerLabError):
    """A model cannot be exported in a format, or its export does not agree with the model."""


# --- wording -----------------------------------------------------------------------------------------
def describe_validation_error(err: ValidationError) -> str:
    """The first problem pydantic found, as "field: what is wrong" on one line."""
    first = err.errors()[0]
    field = ".".join(str(part) for part in first["loc"]) or "value"
    return f"{field}: {first['msg']}"[:300]


def json_kind(value: Any) -> str:
    """ "null", "a list", "a string"...: what a JSON value is, for messages."""
    if value is None:
        return "null"
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(type(value), "a number")
