"""The data dir's secret: created once, whole, even when replicas start at the same moment."""

from __future__ import annotations

import multiprocessing
import stat

import pytest

from playground.core.secret_key import SECRET_FILE, load_or_create_secret


def test_the_secret_is_created_private_and_kept(tmp_path):
    first = load_or_create_secret(tmp_path)
    assert len(first) == 32 and load_or_create_secret(tmp_path) == first
    assert stat.S_IMODE((tmp_path / SECRET_FILE).stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == [SECRET_FILE]  # no draft left behind


@pytest.mark.slow  # 160 forked processes; `make test` runs it
def test_processes_starting_together_all_read_one_whole_secret(tmp_path):
    """Eight processes race to create it (replicas on one data dir started at once: a reader had
    found the file created but not yet written, "holds no usable secret")."""
    for attempt in range(20):  # the old code failed about one race in ten
        data_dir = tmp_path / str(attempt)
        data_dir.mkdir()
        with multiprocessing.get_context("fork").Pool(8) as pool:
            secrets = pool.map(load_or_create_secret, [data_dir] * 8)
        assert len(set(secrets)) == 1, f"attempt {attempt}: {len(set(secrets))} different secrets"
        assert [p.name for p in data_dir.iterdir()] == [SECRET_FILE]


def test_a_damaged_secret_is_refused_with_its_path(tmp_path):
    (tmp_path / SECRET_FILE).write_text("abcd")
    with pytest.raises(ValueError, match=f"{SECRET_FILE} holds no usable secret"):
        load_or_create_secret(tmp_path)
