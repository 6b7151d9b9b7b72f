"""The spool keeps its size without stat-ing files on every flush, and recounts on request."""

from __future__ import annotations

import uuid

from waitless.events.quarantine import Quarantine, Refusal
from waitless.events.spool import Spool, file_sizes_bytes
from waitless.ranking.event_row import new_event_id


def test_size_follows_appends_and_removals(tmp_path):
    spool = Spool(tmp_path, max_bytes=10_000)
    first = spool.append([{"event_id": "a", "n": 1}]).segment
    second = spool.append([{"event_id": "b", "n": 22}, {"event_id": "c", "n": 333}]).segment
    on_disk = first.stat().st_size + second.stat().st_size
    assert spool.size_bytes() == on_disk
    spool.remove(first)
    assert spool.size_bytes() == second.stat().st_size
    spool.remove(second)
    assert spool.size_bytes() == 0


def test_rescan_counts_segments_written_by_another_process(tmp_path):
    ours = Spool(tmp_path, max_bytes=10_000)
    theirs = Spool(tmp_path, max_bytes=10_000)  # another worker sharing the directory
    written = theirs.append([{"event_id": "x"}]).segment
    assert ours.size_bytes() == 0  # not seen until the periodic recount
    assert ours.rescan() == written.stat().st_size
    # A segment the other worker replays and deletes drops out at the next recount.
    theirs.remove(written)
    assert ours.rescan() == 0


def test_file_sizes_skip_a_file_removed_after_it_was_listed(tmp_path):
    kept, gone = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    kept.write_bytes(b"12345\n")
    assert file_sizes_bytes([kept, gone]) == {kept: 6}


def test_spool_and_quarantine_count_their_bytes_the_same_way(tmp_path):
    spool = Spool(tmp_path, max_bytes=16_000)
    segment = spool.append([{"event_id": "a"}]).segment
    quarantine = Quarantine.beside(spool)
    assert len(quarantine.append([Refusal("data", "NUL", row=["a"])])) == 1
    (file,) = quarantine.files()
    # The quarantine's files are under the spool's directory, never among its segments.
    assert spool.rescan() == segment.stat().st_size == 17
    assert quarantine.size_bytes() == file.stat().st_size == 44


def test_event_ids_are_distinct_version_4_uuids():
    ids = [new_event_id() for _ in range(3000)]  # crosses several 256-id refills
    assert len(set(ids)) == len(ids)
    for text in ids:
        parsed = uuid.UUID(text)
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122
        assert str(parsed) == text


def test_a_forked_child_never_reuses_its_parents_event_ids():
    import os

    new_event_id()  # the parent holds formatted ids not handed out yet
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its first ids, to the parent
        os.write(write, ",".join(new_event_id() for _ in range(5)).encode())
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    child = set(os.read(read, 4096).decode().split(","))
    os.close(read)
    assert len(child) == 5
    assert not child & {new_event_id() for _ in range(300)}
