"""Compression bombs for the model-file tests: zips built by hand, members compressed any way.

NumPy writes members stored or deflated; a hostile file can name any method zipfile knows.
:data:`BZIP2_GIGABYTE` is the bzip2 stream of 2**30 zero bytes (785 bytes, made once with
``bz2.BZ2Compressor(9)`` fed 1024 MiB of zeros: too slow to make in every test run).
"""

from __future__ import annotations

import base64
import io
import lzma
import struct
import zipfile
import zlib

BZIP2_GIGABYTE = base64.b64decode(
    "QlpoOTFBWSZTWQ4J4t8BX45AAMAAAAggADCATUZCoCWpCoCXMUFZJlNZDgni3wFfjkAAwAAACCAAMIBNRkKgJakK"
    "gJcxQVkmU1kOCeLfAV+OQADAAAAIIAAwgE1GQqAlqQqAlzFBWSZTWQ4J4t8BX45AAMAAAAggADCATUZCoCWpCoCX"
    "MUFZJlNZDgni3wFfjkAAwAAACCAAMIBNRkKgJakKgJcxQVkmU1kOCeLfAV+OQADAAAAIIAAwgE1GQqAlqQqAlzFB"
    "WSZTWQ4J4t8BX45AAMAAAAggADCATUZCoCWpCoCXMUFZJlNZDgni3wFfjkAAwAAACCAAMIBNRkKgJakKgJcxQVkm"
    "U1kOCeLfAV+OQADAAAAIIAAwgE1GQqAlqQqAlzFBWSZTWQ4J4t8BX45AAMAAAAggADCATUZCoCWpCoCXMUFZJlNZ"
    "Dgni3wFfjkAAwAAACCAAMIBNRkKgJakKgJcxQVkmU1kOCeLfAV+OQADAAAAIIAAwgE1GQqAlqQqAlzFBWSZTWQ4J"
    "4t8BX45AAMAAAAggADCATUZCoCWpCoCXMUFZJlNZDgni3wFfjkAAwAAACCAAMIBNRkKgJakKgJcxQVkmU1kOCeLf"
    "AV+OQADAAAAIIAAwgE1GQqAlqQqAlzFBWSZTWQ4J4t8BX45AAMAAAAggADCATUZCoCWpCoCXMUFZJlNZDgni3wFf"
    "jkAAwAAACCAAMIBNRkKgJakKgJcxQVkmU1kOCeLfAV+OQADAAAAIIAAwgE1GQqAlqQqAlzFBWSZTWQ4J4t8BX45A"
    "AMAAAAggADCATUZCoCWpCoCXMUFZJlNZDgni3wFfjkAAwAAACCAAMIBNRkKgJakKgJcxQVkmU1kOCeLfAV+OQADA"
    "AAAIIAAwgE1GQqAlqQqAlzFBWSZTWQ4J4t8BX45AAMAAAAggADCATUZCoCWpCoCXMUFZJlNZDgni3wFfjkAAwAAA"
    "CCAAMIBNRkKgJakKgJcxQVkmU1lIfF/JAIpSyADAAAAEAAggADDMBSmmkSJDYUSJDxdyRThQkPaI5AI="
)


def lzma_zeros(size: int) -> bytes:
    """A zip LZMA member's data (4-byte version/properties prefix, then raw LZMA1) of ``size`` zeros."""
    filters = [{"id": lzma.FILTER_LZMA1, "preset": 1}]
    comp = lzma.LZMACompressor(format=lzma.FORMAT_RAW, filters=filters)
    props = lzma._encode_filter_properties(filters[0])
    chunk = bytes(1 << 20)
    body = b"".join(comp.compress(chunk[: min(len(chunk), size - i)]) for i in range(0, size, len(chunk)))
    return struct.pack("<BBH", 9, 4, len(props)) + props + body + comp.flush()


def deflate_zeros(size: int) -> bytes:
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    return comp.compress(bytes(size)) + comp.flush()


def zip_of(members: list[tuple[str, int, bytes, int, int]]) -> bytes:
    """A zip of ``(name, method, compressed data, declared size, crc)`` members, written by hand so
    that the declared sizes, methods and checksums can lie."""
    local, central = b"", b""
    for name, method, data, size, crc in members:
        raw = name.encode()
        offset = len(local)
        local += struct.pack(
            "<IHHHHHIIIHH", 0x04034B50, 20, 0, method, 0, 0x21, crc, len(data), size, len(raw), 0
        )
        local += raw + data
        central += struct.pack(
            "<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, method, 0, 0x21, crc, len(data), size,
            len(raw), 0, 0, 0, 0, 0, offset,
        )  # fmt: skip
        central += raw
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(central), len(local), 0)
    return local + central + end


def bomb(method: int, data: bytes, *, declared: int = 1000, extra: bytes | None = None) -> bytes:
    """A model file whose header member is ``data`` compressed with ``method``, claiming ``declared``
    bytes (small enough to pass any ratio check); ``extra``: a valid model file's members go first."""
    members = []
    if extra is not None:
        with zipfile.ZipFile(io.BytesIO(extra)) as zf:
            for info in zf.infolist():
                if info.filename != "__header__.npy":
                    body = zf.read(info)
                    members.append((info.filename, 0, body, len(body), zlib.crc32(body)))
    return zip_of([("__header__.npy", method, data, declared, 0), *members])


BZIP2, LZMA, DEFLATE, STORED = zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA, zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED
