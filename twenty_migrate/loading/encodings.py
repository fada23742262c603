"""The text encoding of an export: byte-order marks, UTF-8, UTF-16 and the legacy code pages."""

from __future__ import annotations

import codecs
import os
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from twenty_migrate.loading.readers import RECORD_KEYS as RECORD_KEYS  # still importable from here

_CHUNK = 8 * 1024 * 1024

#: Bytes Windows-1252 leaves undefined; a file holding one is read as Latin-1.
_NOT_CP1252 = re.compile(rb"[\x81\x8d\x8f\x90\x9d]")


_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def detect_encoding(file: str | os.PathLike[str] | bytes) -> str:
    """The codec to read a text file with (see the module doc for the rules).

    Args:
        file: A path (the whole file is checked, in chunks) or the bytes themselves.

    Returns:
        ``"utf-8-sig"``, ``"utf-16"``, ``"utf-32"``, ``"utf-16-le"``/``"utf-16-be"`` (no
        BOM, told by the zero bytes), ``"utf-8"``, ``"cp1252"`` or ``"latin-1"``.
    """
    if isinstance(file, bytes):
        data = file
        return _encoding_of([data], lambda: [data])
    path = Path(file)
    with open(path, "rb") as handle:
        return _encoding_of(iter(lambda: handle.read(_CHUNK), b""), lambda: _chunks(path))


def _chunks(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as handle:
        yield from iter(lambda: handle.read(_CHUNK), b"")


# --------------------------------------------------------------------------- encodings
def _encoding_of(chunks: Iterable[bytes], again: Callable[[], Iterable[bytes]]) -> str:
    """The codec for a stream of chunks; ``again`` re-reads them for the Windows-1252 check."""
    iterator = iter(chunks)
    first = next(iterator, b"")
    for bom, name in _BOMS:
        if first.startswith(bom):
            return name
    utf16 = _utf16_without_bom(first[:4096])
    if utf16:
        return utf16
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        decoder.decode(first)
        for chunk in iterator:
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        undefined = any(_NOT_CP1252.search(chunk) for chunk in again())
        return "latin-1" if undefined else "cp1252"
    return "utf-8"


def _utf16_without_bom(head: bytes) -> str | None:
    """UTF-16 text without a BOM: mostly ASCII, so every other byte is zero."""
    if len(head) < 4:
        return None
    even, odd = head[0::2], head[1::2]
    if odd.count(0) > 0.4 * len(odd) and even.count(0) < 0.05 * len(even):
        return "utf-16-le"
    if even.count(0) > 0.4 * len(even) and odd.count(0) < 0.05 * len(odd):
        return "utf-16-be"
    return None


def _check_codec(encoding: str) -> str:
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        raise ValueError(
            f"unknown encoding {encoding!r}; use a Python codec name such as 'utf-8', "
            "'cp1252', 'latin-1' or 'utf-16'"
        ) from None


def _decode_error(file: Path, encoding: str, exc: UnicodeDecodeError) -> ValueError:
    return ValueError(
        f"{file.name} does not decode as {encoding} (byte {exc.start}: {exc.reason}). Pass the "
        "file's encoding, e.g. encoding='cp1252' (Excel on Windows), 'latin-1', 'utf-16', or "
        "re-save it as 'CSV UTF-8'"
    )


def _decoded_json(file: Path, encoding: str | None) -> str:
    """A JSON file decoded with ``encoding`` (or the detected codec), without its BOM."""
    data = file.read_bytes()
    codec = _check_codec(encoding) if encoding else detect_encoding(data)
    try:
        text = data.decode(codec)
    except UnicodeDecodeError as exc:
        raise _decode_error(file, codec, exc) from None
    return text.lstrip("\ufeff")
