"""The fan-out fast path writes each view's frame pre-framed; it must be byte for byte what
the websockets protocol would have framed for every socket (server side: unmasked)."""

from __future__ import annotations

import pytest
from websockets.frames import Frame, Opcode

from innovate.realtime.connection import Outgoing


@pytest.mark.parametrize("size", [0, 1, 125, 126, 127, 65_535, 65_536, 200_000])
def test_prepared_frame_matches_the_protocols_own(size: int) -> None:
    text = ("é" * size)[: size // 2] + "x" * (size - size // 2)
    outgoing = Outgoing(text)
    expected = Frame(Opcode.TEXT, text.encode(), fin=True).serialize(mask=False, extensions=[])
    assert outgoing.wire == expected
