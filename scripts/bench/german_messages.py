"""Writes the first 2,000 (or the second argument's count, `all` for every
one) German messages of the Debian gettext catalogs (/usr/share/locale/de),
whitespace collapsed, one per line, to the file named by the first argument:
the benchmarks' target-language text."""
import sys

sys.path.insert(0, "scripts/crosscheck")
from texts import gettext_catalogs

lines = [" ".join(t.split()) for c in gettext_catalogs("de") for k, t in c.items()
         if k and isinstance(t, str) and t.strip()]
count = sys.argv[2] if len(sys.argv) > 2 else "2000"
lines = lines if count == "all" else lines[:int(count)]
open(sys.argv[1], "w").write("\n".join(lines) + "\n")
