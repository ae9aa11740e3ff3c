"""nerve.tree as keras.tree: flatten order (sorted dict keys), packing back the same types, mapping, paths,
structure checks, traverse."""
from collections import namedtuple

import pytest

import nerve
from nerve import tree

Point = namedtuple("Point", "x y")
S = {"b": [1, (2, 3)], "a": Point(4, {"z": 5, "y": None})}


def test_flatten_and_pack_round_trip():
    assert tree.flatten(S) == [4, None, 5, 1, 2, 3]  # a before b; y before z
    again = tree.pack_sequence_as(S, tree.flatten(S))
    assert again == S and isinstance(again["a"], Point) and isinstance(again["b"][1], tuple)
    assert tree.flatten(7) == [7] and tree.pack_sequence_as(7, [8]) == 8
    with pytest.raises(ValueError, match=r"pack_sequence_as: the structure has 6 leaves, got a sequence of 2"):
        tree.pack_sequence_as(S, [1, 2])


def test_map_structure_and_paths():
    assert tree.map_structure(lambda a, b: a + b, [1, (2, 3)], [10, (20, 30)]) == [11, (22, 33)]
    assert tree.flatten_with_path({"k": [5, 6]}) == [(("k", 0), 5), (("k", 1), 6)]
    assert tree.map_structure_up_to([0, 0], lambda v: len(v), [[1, 2], (3,)]) == [2, 1]
    assert tree.is_nested([1]) and not tree.is_nested(nerve.tensor([1.0]))


def test_assert_same_structure():
    tree.assert_same_structure([1, (2,)], [3, (4,)])
    with pytest.raises(ValueError, match="types differ: list and tuple"):
        tree.assert_same_structure([1], (1,))
    tree.assert_same_structure([1], (1,), check_types=False)
    with pytest.raises(ValueError, match="dict keys differ"):
        tree.assert_same_structure({"a": 1}, {"b": 1})
    with pytest.raises(ValueError, match="one side is a leaf"):
        tree.map_structure(lambda a, b: a, [1, 2], [1, [2]])


def test_traverse_and_lists_to_tuples():
    assert tree.traverse(lambda x: x * 10 if isinstance(x, int) else None, [1, (2, 3)]) == [10, (20, 30)]
    assert tree.traverse(lambda x: "cut" if isinstance(x, tuple) else None, [1, (2, 3)]) == [1, "cut"]
    assert tree.traverse(lambda x: sum(x) if isinstance(x, list) else None, [1, [2, 3]], top_down=False) == 6
    assert tree.lists_to_tuples([1, [2, {"a": [3]}]]) == (1, (2, {"a": (3,)}))
