import pytest

from kexue.data import parse_size


@pytest.mark.parametrize(
    "text, expected",
    [
        ("300", 300),
        ("0", 0),
        ("512K", 512 * 1024),
        ("512k", 512 * 1024),
        ("256M", 256 << 20),
        ("4G", 4 << 30),
        ("1T", 1 << 40),
        ("1.5G", 3 << 29),
        ("64KiB", 64 << 10),
        ("2MB", 2 << 20),
        (" 8M ", 8 << 20),
        (1234, 1234),
    ],
)
def test_parse_size(text, expected):
    assert parse_size(text) == expected


@pytest.mark.parametrize("text", ["", "M", "-1", "12Q", "1.5", "4 G B", "1e6", "0x10"])
def test_parse_size_rejects(text):
    with pytest.raises(ValueError, match="invalid size"):
        parse_size(text)


def test_parse_size_types():
    with pytest.raises(ValueError, match="non-negative"):
        parse_size(-5)
    with pytest.raises(TypeError):
        parse_size(1.5)
    with pytest.raises(TypeError):
        parse_size(True)
