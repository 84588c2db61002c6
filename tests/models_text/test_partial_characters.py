"""A completion cut in the middle of a multi-byte character never ends in U+FFFD."""

from __future__ import annotations

import torch

from models.text_decoding import BatchStreamer


class ByteTokenizer:
    """Each token id is one UTF-8 byte, decoded the way byte-level BPE tokenizers do."""

    def decode(self, ids: list[int], skip_special_tokens: bool = True) -> str:
        return bytes(ids).decode("utf-8", errors="replace")


def stream_bytes(data: bytes) -> BatchStreamer:
    streamer = BatchStreamer(ByteTokenizer(), n=1, end_ids={0}, stops=())
    streamer.put(torch.tensor([[1]]))  # the prompt
    for byte in data:
        streamer.put(torch.tensor([byte]))
    return streamer


def test_a_character_cut_by_the_length_limit_is_dropped_not_shown_as_a_replacement():
    emoji = "🙂".encode()
    streamer = stream_bytes(b"Hi " + emoji[:2])
    assert streamer.text_of(0) == ("Hi ", False)


def test_the_character_appears_once_its_last_byte_arrives():
    streamer = stream_bytes("Hi 🙂".encode())
    assert streamer.text_of(0) == ("Hi 🙂", False)


def test_a_replacement_character_inside_the_text_is_kept():
    streamer = stream_bytes(b"a\xffb")
    assert streamer.text_of(0) == ("a\ufffdb", False)
