"""The ORT file's kernel type table written in one order, so that the same model always gives the same bytes.

ONNX Runtime serializes its kernel type resolver (which type constraint of each operator binds to which input or
output) by iterating a hash map, so its entries come out in an order that follows addresses in the converting
process: the same model gave files that differed in ~1,000 bytes, always inside that table. The loader reads the
table into a map, so its order carries no meaning. ORT writes the table last, between the root table and the
model: this module rebuilds it with every list sorted, in the fewest bytes that keep the model's alignment, and
points the root at it. Where the layout is not the one described (another converter version) the file is left as
it was: its bytes may then vary, never what it computes.
"""

from __future__ import annotations

import struct

from ..shims import ort_format_session


def _u32(buf: bytes, pos: int) -> int:
    return struct.unpack_from("<I", buf, pos)[0]


def _field(buf: bytes, table: int, slot: int) -> int | None:
    """Where a table's field `slot` (0-based) lies, or None when absent."""
    vtable = _vtable(buf, table)
    size = struct.unpack_from("<H", buf, vtable)[0]
    at = 4 + 2 * slot
    offset = struct.unpack_from("<H", buf, vtable + at)[0] if at < size else 0
    return table + offset if offset else None


def _vtable(buf: bytes, table: int) -> int:
    return table - struct.unpack_from("<i", buf, table)[0]


def _table_end(buf: bytes, table: int) -> int:
    return table + struct.unpack_from("<H", buf, _vtable(buf, table) + 2)[0]


def kernel_table(data: bytes) -> list[tuple[str, list[tuple[str, list[tuple[int, int]]]]]]:
    """An ORT file's kernel type table, every list sorted: (op id, [(type constraint, [(arg type, index)])])."""
    return _entries(ort_format_session(data).KernelTypeStrResolver())


def _entries(resolver) -> list[tuple[str, list[tuple[str, list[tuple[int, int]]]]]]:
    out = []
    for j in range(resolver.OpKernelTypeStrArgsLength()):
        e = resolver.OpKernelTypeStrArgs(j)
        kinds = []
        for k in range(e.KernelTypeStrArgsLength()):
            a = e.KernelTypeStrArgs(k)
            args = sorted((a.Args(i).ArgType(), a.Args(i).Index()) for i in range(a.ArgsLength()))
            kinds.append((a.KernelTypeStr().decode(), args))
        out.append((e.OpId().decode(), sorted(kinds)))
    return sorted(out)


def _build(entries) -> tuple[bytes, int, int]:
    """The table in a buffer of its own: its bytes, where the resolver table lies in them, their alignment."""
    import flatbuffers

    b = flatbuffers.Builder(1024)

    def vector(offsets):
        b.StartVector(4, len(offsets), 4)
        for o in reversed(offsets):
            b.PrependUOffsetTRelative(o)
        return b.EndVector()

    strings: dict[str, int] = {}

    def string(text):  # each string once, as ORT's own builder shares them
        if text not in strings:
            strings[text] = b.CreateString(text)
        return strings[text]

    ops = []
    for op_id, kinds in entries:
        made = []
        for kind, args in kinds:
            pairs = []
            for arg_type, index in args:
                b.StartObject(2)
                b.PrependInt8Slot(0, arg_type, 0)
                b.PrependUint32Slot(1, index, 0)
                pairs.append(b.EndObject())
            pair_vector, name = vector(pairs), string(kind)
            b.StartObject(2)
            b.PrependUOffsetTRelativeSlot(0, name, 0)
            b.PrependUOffsetTRelativeSlot(1, pair_vector, 0)
            made.append(b.EndObject())
        kind_vector, name = vector(made), string(op_id)
        b.StartObject(2)
        b.PrependUOffsetTRelativeSlot(0, name, 0)
        b.PrependUOffsetTRelativeSlot(1, kind_vector, 0)
        ops.append(b.EndObject())
    op_vector = vector(ops)
    b.StartObject(1)
    b.PrependUOffsetTRelativeSlot(0, op_vector, 0)
    table = b.EndObject()
    b.Finish(table)  # Output() wants a finished buffer: 4 more bytes in front, the table's place from the end kept
    data = bytes(b.Output())
    return data, len(data) - table, b.minalign


def canonical(buf: bytes) -> bytes:
    """The same ORT file with its kernel type table in sorted order (or the file unchanged: module docstring)."""
    root = _u32(buf, 0)
    session = ort_format_session(buf)
    fields = [_field(buf, root, slot) for slot in range(4)]  # ort_version, model, (deprecated), resolver
    if fields[3] is None or fields[1] is None:
        return buf
    resolver = session.KernelTypeStrResolver()
    model = fields[1] + _u32(buf, fields[1])
    lo = _table_end(buf, root)
    hi = min([model, _vtable(buf, model)] + [f + _u32(buf, f) for f in fields[:3] if f is not None])
    if not lo <= resolver._tab.Pos < hi or lo <= _vtable(buf, root) < hi:
        return buf
    data, table, align = _build(_entries(resolver))
    # the span's new length: the fewest bytes that hold the table, and a multiple of 8 away from the old one, so
    # that everything after it keeps its alignment (8: the model's 64-bit values)
    span = (hi - lo) % 8
    while (lo + span) - (lo + span) % align - len(data) < lo:
        span += 8
    end = (lo + span) - (lo + span) % align
    start, shift = end - len(data), lo + span - hi
    out = bytearray(buf[:lo] + bytes(start - lo) + data + bytes(lo + span - end) + buf[hi:])
    for f in fields[:3]:
        if f is not None and f + _u32(buf, f) >= hi:
            struct.pack_into("<I", out, f, _u32(buf, f) + shift)
    struct.pack_into("<I", out, fields[3], start + table - fields[3])
    return bytes(out)
