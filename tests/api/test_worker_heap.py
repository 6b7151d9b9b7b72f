"""A worker keeps freed heap memory (``keep_freed_heap``) instead of faulting it back in on every
request (issue 12): buffers of a ranking's size, allocated and freed over and over, must cost
no page faults once it is set, and do cost them with glibc's defaults."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc only")

_CHURN = """
import resource, sys
from waitless.api.server import keep_freed_heap
if sys.argv[1] == "keep":
    assert keep_freed_heap()

def churn():  # a few answers' worth of 16 KiB buffers, written (so their pages are touched)
    held = [b"x" * 16384 for _ in range(64)]
    del held

churn()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(200):
    churn()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _page_faults(mode: str) -> int:
    done = subprocess.run([sys.executable, "-c", _CHURN, mode], capture_output=True,
                          text=True, check=True)
    return int(done.stdout)


def test_freed_heap_is_kept_instead_of_faulted_back_in() -> None:
    default, kept = _page_faults("default"), _page_faults("keep")
    # glibc's defaults give the 1 MiB back after every round and fault it in again (~256
    # pages a round); kept, the rounds reuse the same pages.
    assert default > 200 * 100
    assert kept < 200
