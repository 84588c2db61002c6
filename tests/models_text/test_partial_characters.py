"""A completion cut in the middle of a multi-byte character never ends in U+FFFD."""

from __future__ import annotations

import torch

from models.text_confidence import RawProbabilities
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


def test_a_tokens_text_is_what_it_added_so_a_split_character_goes_to_its_last_byte():
    """With confidence on, the bytes before a character's last one add no text; their texts
    join into the answer."""
    probabilities = RawProbabilities()
    streamer = BatchStreamer(ByteTokenizer(), n=1, end_ids={0}, stops=(), probabilities=probabilities)
    streamer.put(torch.tensor([[1]]))  # the prompt
    for byte in "Hi 🙂".encode():
        probabilities(torch.tensor([[1]]), torch.zeros(1, 256))  # the step's (uniform) logits
        streamer.put(torch.tensor([byte]))
    tokens = streamer.confidence_of(0)
    assert [t.text for t in tokens] == ["H", "i", " ", "", "", "", "🙂"]
    assert all(abs(t.probability - 1 / 256) < 1e-7 for t in tokens)
