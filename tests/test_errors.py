"""``first_line``: what a one-line error keeps of the library exception it replaces."""

from gankit.errors import first_line


def test_first_line_of_a_long_message():
    exc = RuntimeError("  size mismatch for net.0.weight\n  copying a param with shape (4, 2)  ")
    assert first_line(exc) == "size mismatch for net.0.weight"
    assert first_line(ValueError("x" * 500)) == "x" * 200
    assert first_line(ValueError("abcdef"), limit=3) == "abc"


def test_an_empty_message_gives_the_class_name():
    assert first_line(KeyError()) == "KeyError"
    assert first_line(ValueError("   ")) == "ValueError"
