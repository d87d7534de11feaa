"""Cross-checks `retarget eval tokenizer` token counts against Python
`tokenizers` (encode without special tokens) on UDHR text, for the XLM-R
tokenizer, the SmolLM2 tokenizer rebuilt from its GGUF, and the fixtures.

Usage: python tokenizer_check.py --retarget BIN --assets DIR --tokenizers PATH...
"""

import argparse
import json
import subprocess
import sys
from pathlib import Path

from tokenizers import Tokenizer

from texts import udhr_paragraphs

LANGS = ["eng", "swh", "eus", "tat", "rus", "arb", "hin", "cmn_hans", "jpn", "tha"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--retarget", required=True)
    ap.add_argument("--assets", required=True, type=Path)
    ap.add_argument("--tokenizers", nargs="+", required=True)
    args = ap.parse_args()
    udhr = args.assets / "udhr"
    passed = failed = 0
    for tok_path in args.tokenizers:
        proc = subprocess.run([args.retarget, "eval", "tokenizer", "--tokenizer", tok_path, "--udhr", str(udhr), "--json"],
                              capture_output=True, text=True, check=True)
        rows = {r["lang"]: r for r in json.loads(proc.stdout)}
        tok_file = Path(tok_path)
        tok = Tokenizer.from_file(str(tok_file / "tokenizer.json" if tok_file.is_dir() else tok_file))
        for lang in LANGS:
            row = rows.get(lang)
            if row is None:
                print(f"FAIL {tok_path} {lang}: missing from retarget's output")
                failed += 1
                continue
            lines = udhr_lines(udhr, lang)
            ours = subprocess.run([args.retarget, "eval", "tokenizer", "--tokenizer", tok_path, "--text", f"{lang}={lines}", "--json"],
                                  capture_output=True, text=True, check=True)
            ours_tokens = json.loads(ours.stdout)[0]["counts"]["tokens"]
            theirs = sum(len(e.ids) for e in tok.encode_batch(Path(lines).read_text(encoding="utf-8").splitlines(), add_special_tokens=False))
            ok = ours_tokens == theirs
            passed += ok
            failed += not ok
            if not ok:
                print(f"FAIL {tok_path} {lang}: retarget {ours_tokens} tokens, tokenizers {theirs}")
            if lang == "eng":
                # English shares every article with itself: --udhr must have read the same text.
                same = row["counts"]["tokens"] == theirs
                passed += same
                failed += not same
                if not same:
                    print(f"FAIL {tok_path} --udhr eng: {row['counts']['tokens']} tokens, expected {theirs}")
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


def udhr_lines(udhr, lang):
    """All <p>/<li> paragraphs of a declaration, one per line, in a temp file."""
    import tempfile
    paragraphs = udhr_paragraphs(udhr / "declaration" / f"{lang}.html")
    f = tempfile.NamedTemporaryFile("w", suffix=f".{lang}.txt", delete=False, encoding="utf-8")
    f.write("".join(p + "\n" for p in paragraphs if p))
    f.close()
    return f.name


if __name__ == "__main__":
    main()
