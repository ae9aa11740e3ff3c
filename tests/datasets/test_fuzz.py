"""Fuzzing the data-set parsers (issue 9 item 4): >= 1,000 mutated files each for IDX, CSV (generic, heart,
twitter) and npz (plain, object arrays through the restricted unpickler, and mutated .npy members inside a
valid zip so that the CRC does not stop the mutation before the parser). Each either parses or raises a
DatasetError (the documented type); nothing else escapes and no code runs."""
import io
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nerve.datasets import heart_disease, twitter_sentiment
from nerve.datasets._csv import parse_csv
from nerve.datasets._fetch import DatasetError
from nerve.datasets._idx import parse_idx, write_idx
from nerve.datasets._npz import parse_npz

FUZZ = settings(max_examples=1000, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@st.composite
def mutated(draw, base):
    data = bytearray(base)
    for _ in range(draw(st.integers(1, 4))):
        if not data:
            data = bytearray(draw(st.binary(max_size=16)))
            continue
        hi = len(data) - 1
        i = draw(st.one_of(st.integers(0, min(hi, 80)), st.integers(0, hi)))  # biased towards headers
        op = draw(st.sampled_from(["flip", "set", "truncate", "insert", "delete", "swap"]))
        if op == "flip":
            data[i] ^= 1 << draw(st.integers(0, 7))
        elif op == "set":
            data[i] = draw(st.sampled_from([0, 1, 0x7F, 0x80, 0xFF, ord(","), ord('"'), ord("\n"), ord("?")]))
        elif op == "truncate":
            del data[i:]
        elif op == "insert":
            data[i:i] = draw(st.binary(min_size=1, max_size=12))
        elif op == "delete":
            del data[i:i + draw(st.integers(1, 32))]
        else:
            j = draw(st.integers(0, hi))
            data[i], data[j] = data[j], data[i]
    return bytes(data)


def parses_or_dataset_error(fn, data):
    try:
        fn(data)
    except DatasetError:
        pass


IDX_BASES = [write_idx(np.arange(60, dtype=np.uint8).reshape(3, 4, 5)), write_idx(np.arange(7, dtype=np.uint8)),
             write_idx(np.linspace(-1, 1, 12).reshape(3, 4))]


@FUZZ
@given(st.sampled_from(IDX_BASES).flatmap(mutated))
def test_fuzz_idx(data):
    parses_or_dataset_error(parse_idx, data)


CSV_BASE = (b"AtBat,Hits,League,Salary,train\n293,66,A,,TRUE\n315,81,N,475.0,FALSE\n"
            b"479,130,A,480.0,TRUE\n\"496\",\"141\",\"N\",500,FALSE\n")


@FUZZ
@given(mutated(CSV_BASE))
def test_fuzz_csv(data):
    parses_or_dataset_error(parse_csv, data)


HEART = (b"63.0,1.0,1.0,145.0,233.0,1.0,2.0,150.0,0.0,2.3,3.0,0.0,6.0,0\n"
         b"67.0,1.0,4.0,160.0,286.0,0.0,2.0,108.0,1.0,1.5,2.0,3.0,3.0,2\n"
         b"53.0,0.0,3.0,128.0,216.0,0.0,2.0,115.0,0.0,0.0,1.0,0.0,?,0\n")


@FUZZ
@given(mutated(HEART))
def test_fuzz_heart_csv(data):
    parses_or_dataset_error(heart_disease.parse, data)


TWITTER = (b"sentiment,confidence,text\nnegative,0.7547,\"I just don't, trust\"\npositive,,yay\n"
           b"neutral,1,caf\xe9 ok\n")


@FUZZ
@given(mutated(TWITTER))
def test_fuzz_twitter_csv(data):
    parses_or_dataset_error(twitter_sentiment.parse, data)


def _obj(seqs):
    a = np.empty(len(seqs), dtype=object)
    for i, s in enumerate(seqs):
        a[i] = s
    return a


def _npz(**arrays):
    b = io.BytesIO()
    np.savez(b, **arrays)
    return b.getvalue()


def _npy(a):
    b = io.BytesIO()
    np.save(b, a, allow_pickle=True)
    return b.getvalue()


NPZ_PLAIN = _npz(x=np.arange(12, dtype=np.int32).reshape(3, 4), y=np.array([0.5, 1.5]))
NPZ_OBJECT = _npz(x_train=_obj([[1, 2, 3], [4]]), y_train=np.array([0, 1]))
NPY_MEMBERS = [_npy(_obj([[1, 2, 3], [4, 5]])), _npy(np.arange(6, dtype="<i2").reshape(2, 3)),
               _npy(np.asfortranarray(np.ones((2, 3))))]


@FUZZ
@given(st.sampled_from([NPZ_PLAIN, NPZ_OBJECT]).flatmap(mutated), st.booleans())
def test_fuzz_npz(data, allow_object):
    parses_or_dataset_error(lambda d: parse_npz(d, allow_object=allow_object), data)


@FUZZ
@given(st.sampled_from(NPY_MEMBERS).flatmap(mutated))
def test_fuzz_npy_members_and_pickles(member):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("x.npy", member)
    parses_or_dataset_error(lambda d: parse_npz(d, allow_object=True), buf.getvalue())


def test_an_empty_idx_array_with_sizes_numpy_cannot_index_is_a_format_error():
    """Found by test_fuzz_idx: (0, 2**32 - 1, 2**32 - 1) holds no values, so its length checks out, but
    NumPy cannot make an array of that shape."""
    data = bytes([0, 0, 0x08, 3]) + (0).to_bytes(4, "big") + (2**32 - 1).to_bytes(4, "big") * 2
    with pytest.raises(DatasetError, match="not a valid array shape"):
        parse_idx(data)
