#!/usr/bin/env python3
"""Import cycles between the modules of each crate under crates/.

Reads every crate's src/ as text: `use crate::…` and `use super::…` lines and
`crate::a::b::` paths outside `#[cfg(test)]` blocks are edges from the module
to the longest module path they name (the crate root, which re-exports, is
left out). Prints each crate's cycles (strongly connected modules) and exits
1 if any crate has one. Usage: scripts/module-cycles.py [REPO_ROOT]
"""

import os
import re
import sys


def modules(src):
    found = {}
    for root, _, files in os.walk(src):
        for f in files:
            if f.endswith(".rs"):
                path = os.path.join(root, f)
                parts = os.path.relpath(path, src)[:-3].split(os.sep)
                if parts[-1] in ("mod", "lib", "main"):
                    parts = parts[:-1]
                found["::".join(parts)] = path
    return found


def resolve(mods, path):
    segs = path.split("::")
    for k in range(len(segs), 0, -1):
        cand = "::".join(segs[:k])
        if cand in mods:
            return cand
    return None


def edges_of(mods):
    edges = {m: set() for m in mods}
    for m, path in mods.items():
        text = open(path, encoding="utf-8").read().split("#[cfg(test)]")[0]
        parent = "::".join(m.split("::")[:-1])
        for use in re.finditer(r"\buse (crate|super)::([\w:]+|\{[^;]*\})", text):
            kind, rest = use.groups()
            base = "" if kind == "crate" else parent
            items = re.findall(r"[\w:]+", rest) if rest.startswith("{") else [rest]
            for item in items:
                target = resolve(mods, f"{base}::{item}".strip(":"))
                if target and target != m:
                    edges[m].add(target)
        for inline in re.finditer(r"\bcrate::(\w+(?:::\w+)*)::", text):
            target = resolve(mods, inline.group(1))
            if target and target != m:
                edges[m].add(target)
    return edges


def cycles(edges):
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]
    sys.setrecursionlimit(10000)

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in edges:
        if v not in index:
            visit(v)
    return out


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
    crates = os.path.join(root, "crates")
    found = False
    for crate in sorted(os.listdir(crates)):
        src = os.path.join(crates, crate, "src")
        if not os.path.isdir(src):
            continue
        mods = modules(src)
        mods.pop("", None)
        for cycle in cycles(edges_of(mods)):
            found = True
            print(f"{crate}: import cycle between {', '.join(cycle)}")
    print("module import cycles: " + ("found" if found else "none"))
    sys.exit(1 if found else 0)


if __name__ == "__main__":
    main()
