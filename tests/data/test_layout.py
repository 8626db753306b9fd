import pytest

from asteroid_deepmask.data.layout import write_wsj0mix_metadata


def test_metadata_of_a_missing_split_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="No mixtures"):
        write_wsj0mix_metadata(tmp_path / "nowhere", tmp_path / "json", 2)
