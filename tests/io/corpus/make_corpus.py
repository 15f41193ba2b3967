#!/usr/bin/env python3
"""Writes the malformed .npy corpus that tests/io/npy_test.cpp checks, one file per failure mode.

Each file is valid except for the one thing its name says, so that a test failure points at one
check of the reader. Standard library only (no NumPy): the bytes are spelled out here, following
NumPy's format spec, independently of flashlab's writer. Run from anywhere:
    python3 tests/io/corpus/make_corpus.py
and commit the .npy files it writes next to itself.
"""
import os
import struct

MAGIC = b"\x93NUMPY"


def header_dict(descr="'<f4'", fortran="False", shape="(2, 3)"):
    return "{'descr': %s, 'fortran_order': %s, 'shape': %s, }" % (descr, fortran, shape)


def npy(header, data=b"", version=(1, 0)):
    """A .npy file with `header` (str or bytes), padded like NumPy's writer, then `data`."""
    if isinstance(header, str):
        header = header.encode("latin1")
    length_format = "<H" if version[0] == 1 else "<I"
    preamble = len(MAGIC) + 2 + struct.calcsize(length_format)
    header += b" " * (-(preamble + len(header) + 1) % 64) + b"\n"
    return MAGIC + bytes(version) + struct.pack(length_format, len(header)) + header + data


F32_2x3 = bytes(24)  # data for shape (2, 3) of '<f4'

CORPUS = {
    # The preamble: magic, version, header length.
    "empty_file.npy": b"",
    "truncated_in_magic.npy": MAGIC[:4],
    "wrong_magic.npy": b"\x93NUMPX" + npy(header_dict(), F32_2x3)[6:],
    "npz_archive_not_npy.npy": b"PK\x03\x04\x14\x00\x00\x00\x00\x00" + bytes(54),
    "unsupported_version_4_0.npy": npy(header_dict(), F32_2x3, version=(4, 0)),
    "unsupported_version_1_1.npy": npy(header_dict(), F32_2x3, version=(1, 1)),
    "truncated_header_length_field.npy": MAGIC + b"\x01\x00\x76",
    "truncated_header.npy": npy(header_dict(), F32_2x3)[:30],
    # The header dict.
    "header_not_a_dict.npy": npy("[('descr', '<f4'), ('shape', (2, 3))]", F32_2x3),
    "header_missing_shape_key.npy": npy("{'descr': '<f4', 'fortran_order': False, }", F32_2x3),
    "header_missing_descr_key.npy": npy("{'fortran_order': False, 'shape': (2, 3), }", F32_2x3),
    "header_unknown_key.npy": npy(
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'dtype': 'f4', }", F32_2x3),
    "header_duplicate_key.npy": npy(
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'shape': (2, 3), }", F32_2x3),
    "header_unterminated_string.npy": npy("{'descr': '<f4}", F32_2x3),
    "header_missing_colon.npy": npy("{'descr' '<f4', 'fortran_order': False, 'shape': (2, 3), }",
                                    F32_2x3),
    "header_unclosed_dict.npy": npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)",
                                    F32_2x3),
    "header_text_after_dict.npy": npy(header_dict() + " {}", F32_2x3),
    "header_non_ascii_byte.npy": npy(header_dict(descr="'<f4\xff'").encode("latin1"), F32_2x3),
    "shape_not_a_tuple.npy": npy(header_dict(shape="[2, 3]"), F32_2x3),
    "shape_int_without_comma.npy": npy(header_dict(shape="(6)"), F32_2x3),
    "shape_bad_tuple_missing_comma.npy": npy(header_dict(shape="(2 3)"), F32_2x3),
    "shape_negative_dim.npy": npy(header_dict(shape="(2, -3)"), F32_2x3),
    "shape_dim_not_an_integer.npy": npy(header_dict(shape="(2, 'x')"), F32_2x3),
    "shape_dim_too_large.npy": npy(header_dict(shape="(99999999999999999999,)"), F32_2x3),
    "shape_product_overflow.npy": npy(header_dict(shape="(4294967296, 4294967296)"), F32_2x3),
    "shape_too_many_dims.npy": npy(header_dict(shape="(" + "1, " * 65 + ")"), bytes(4)),
    "fortran_order_not_bool.npy": npy(header_dict(fortran="0"), F32_2x3),
    "fortran_order_true.npy": npy(header_dict(fortran="True"), F32_2x3),
    # The dtype.
    "dtype_unsupported_complex64.npy": npy(header_dict(descr="'<c8'"), bytes(48)),
    "dtype_unsupported_int16.npy": npy(header_dict(descr="'<i2'"), bytes(12)),
    "dtype_big_endian_float32.npy": npy(header_dict(descr="'>f4'"), F32_2x3),
    "dtype_void2_without_bfloat16_option.npy": npy(header_dict(descr="'<V2'"), bytes(12)),
    "dtype_structured.npy": npy(header_dict(descr="[('x', '<f4')]"), F32_2x3),
    # The data.
    "data_truncated.npy": npy(header_dict(), F32_2x3[:20]),
    "data_trailing_bytes.npy": npy(header_dict(), F32_2x3 + bytes(4)),
    "data_missing_for_scalar.npy": npy(header_dict(descr="'<f8'", shape="()")),
}


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    for name, content in CORPUS.items():
        with open(os.path.join(here, name), "wb") as f:
            f.write(content)
    print("wrote %d files to %s" % (len(CORPUS), here))


if __name__ == "__main__":
    main()
