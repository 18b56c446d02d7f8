"""Reading Whoosh's index faster than its public interface allows: posting lists a block at a time, a
segment's field lengths in one read, and the identity of an index version. The only module of the
project that touches Whoosh's private fields; they are those of the pinned release (``PINNED_WHOOSH``,
checked by ``check_whoosh_version``, which the tests call), and each use falls back to the public
interface where the shape it expects is not there."""

from __future__ import annotations

import itertools
from importlib import metadata

from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3LeafMatcher
from whoosh.matching.wrappers import FilterMatcher
from whoosh.util.numeric import byte_to_length

#: The release of the ``whoosh-reloaded`` distribution whose private fields this module reads.
PINNED_WHOOSH = "2.7.5"


class UnsupportedWhoosh(RuntimeError):
    """The installed Whoosh is not the release this module was written against."""


def check_whoosh_version() -> None:
    """Raises UnsupportedWhoosh unless the installed ``whoosh-reloaded`` is PINNED_WHOOSH."""
    try:
        installed = metadata.version("whoosh-reloaded")
    except metadata.PackageNotFoundError:
        installed = None
    if installed != PINNED_WHOOSH:
        raise UnsupportedWhoosh(
            f"expert_platform/search/whoosh_postings.py reads private fields of whoosh-reloaded {PINNED_WHOOSH}, "
            f"but {installed or 'no whoosh-reloaded'} is installed: check each private field it reads against "
            "the new release, then update PINNED_WHOOSH (and requirements.txt) together."
        )


def leaf_postings(reader, fieldname: str, btext: bytes, *, values: bool = False):
    """(document numbers in the segment, weights, encoded values or None) of a term, deleted documents
    left out. Whoosh's own W3 matcher is read a block (up to 128 postings) at a time, in C; any other
    matcher posting by posting."""
    matcher = reader.postings(fieldname, btext)
    deleted = None
    if isinstance(matcher, FilterMatcher) and matcher._exclude:  # how a segment hides deleted documents
        deleted = matcher._ids
        matcher = matcher.child
    ids: list[int] = []
    weights: list[float] = []
    encoded: list | None = [] if values else None
    if isinstance(matcher, W3LeafMatcher):
        while matcher.is_active():
            if matcher._data is None:
                matcher._read_data()
            stored_ids = matcher._data[0]
            # The block's ids are stored as differences (W3LeafMatcher._read_ids adds them up in Python).
            ids += stored_ids if matcher._byteids else itertools.accumulate(stored_ids)
            matcher._read_weights()
            weights += matcher._weights
            if values:
                matcher._read_values()
                encoded += matcher._values
            matcher._next_block()
    else:
        while matcher.is_active():
            ids.append(matcher.id())
            weights.append(matcher.weight())
            if values:
                encoded.append(matcher.value())
            matcher.next()
    if deleted:
        kept = [index for index, docnum in enumerate(ids) if docnum not in deleted]
        ids = [ids[index] for index in kept]
        weights = [weights[index] for index in kept]
        if values:
            encoded = [encoded[index] for index in kept]
    return ids, weights, encoded


def field_lengths(reader, fieldname: str) -> list | None:
    """Document number -> the field's length as Whoosh stores it (one byte, decoded by ``byte_to_length``)
    for a whole segment, read at once. None when the segment keeps no lengths we can read whole (the
    scorer then asks document by document)."""
    try:
        column = reader._perdoc._cached_reader(f"_{fieldname}_len", LENGTHS_COLUMN)
        if column is not None and column._fixedlen == 1 and column._typecode == "B":
            stored = column._dbfile.get(column._basepos, column._count)
            return list(map(byte_to_length, stored)) + [None] * (reader.doc_count_all() - column._count)
    except AttributeError:  # another codec
        return None
    return None


def index_folder(searcher):
    """The folder of the index ``searcher`` reads (None for an index in memory)."""
    storage = getattr(getattr(searcher, "_ix", None), "storage", None)
    return getattr(storage, "folder", None)
