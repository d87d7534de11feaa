"""The package's exceptions (raised by the compiled module too)."""


class Error(Exception):
    """retarget failed on its own side (the command line exits 1)."""


class BadInput(Error, ValueError):
    """The input is at fault: a missing or malformed file, a bad argument
    (the command line exits 2). The message names the file or argument."""
