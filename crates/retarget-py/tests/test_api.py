"""retarget's own functions from Python against the command line on the
same inputs: language ID, tokenizer statistics, inspect, merge, adapt,
scoring; and bad input raising typed exceptions, never crashing."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

import retarget
import retarget.langid as langid


def cli_labels(cli, path, backend):
    out = cli("eval", "langid", "-i", path, "--backend", backend).stdout
    rows = [line.split("\t") for line in out.splitlines() if not line.startswith("#")]
    return [(None if lang == "-" else lang, None if c == "-" else float(c)) for lang, c in rows]


@pytest.fixture(scope="module")
def udhr_file(tmp_path_factory, udhr_lines):
    path = tmp_path_factory.mktemp("langid") / "udhr.txt"
    lines = udhr_lines[:600] + ["", "   ", "12345"]
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path, lines


@pytest.mark.parametrize("backend", ["lingua", "fasttext"])
def test_langid_equals_cli(cli, root, udhr_file, backend):
    path, lines = udhr_file
    spec = "lingua" if backend == "lingua" else f"fasttext:{root}/examples/assets/fasttext/lid.176.ftz"
    if backend == "lingua":
        lines, path = lines[:150], path.with_name("short.txt")
        path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    expected = cli_labels(cli, path, spec)
    got = langid.LangId(spec).predict(lines)
    assert [g[0] for g in got] == [e[0] for e in expected]
    assert all(e[1] is None or abs(g[1] - e[1]) < 5e-5 for g, e in zip(got, expected))
    summary = json.loads(cli("eval", "langid", "-i", path, "--backend", spec, "--expect", "sw", "--json",
                             "--summary-only").stdout)["summary"]
    assert langid.summary(lines, "sw", spec) == summary
    assert langid.off_target_rate(lines, "sw", spec) == summary["off_target_rate"]
    on = langid.LangId(spec).identify(lines, "sw")
    assert [i[3] if i else None for i in on] == [None if e[0] is None else e[0] in ("swh", "swa") for e in expected]


def test_tokenizer_stats_equals_cli(cli, root, fixtures, udhr_lines, tmp_path):
    en, sw = tmp_path / "en.txt", tmp_path / "sw.txt"
    en.write_text("\n".join(udhr_lines[:50]) + "\n", encoding="utf-8")
    sw.write_text("\n".join(udhr_lines[50:100]) + "\n", encoding="utf-8")
    tokenizers = [root / "examples/assets/xlmr-tokenizer/tokenizer.json", fixtures / "llama-tied"]
    expected = json.loads(cli("eval", "tokenizer", "--tokenizer", tokenizers[0], "--tokenizer", tokenizers[1], "--text", f"en={en}",
                              "--text", f"sw={sw}", "--parallel-ref", "en", "--json").stdout)
    got = retarget.tokenizer_stats(tokenizers, {"en": en, "sw": udhr_lines[50:100]}, parallel_ref="en")
    assert got == expected


def test_inspect_equals_cli(cli, root, fixtures):
    for path in [fixtures / "llama-tied", fixtures / "t5", root / "examples/assets/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"]:
        assert retarget.inspect(path) == json.loads(cli("inspect", path, "--json").stdout)


def test_merge_equals_cli(cli, fixtures, tmp_path):
    import shutil
    other = shutil.copytree(fixtures / "llama-tied", tmp_path / "other")
    config = {"merge_method": "linear", "dtype": "float32",
              "models": [{"model": str(fixtures / "llama-tied"), "parameters": {"weight": 0.3}},
                         {"model": str(other), "parameters": {"weight": 0.7}}]}
    yaml_file = tmp_path / "merge.yaml"
    yaml_file.write_text(json.dumps(config))
    cli("merge", yaml_file, tmp_path / "cli")
    summary = retarget.merge(config, tmp_path / "py")
    assert summary["tensors"] > 0 and Path(summary["output"]) == tmp_path / "py"
    for f in (tmp_path / "cli").iterdir():
        assert (tmp_path / "py" / f.name).read_bytes() == f.read_bytes(), f.name
    again = retarget.merge(yaml_file, tmp_path / "py2", seed=1)
    assert again["files"] == summary["files"]


def test_adapt_and_score_equal_cli(cli, fixtures, udhr_lines, tmp_path):
    corpus = tmp_path / "sw.txt"
    corpus.write_text("\n".join(line[:300] for line in udhr_lines[:80]) + "\n", encoding="utf-8")
    expected = json.loads(cli("adapt", "--model", fixtures / "llama-untied", "--lang", "swh", "--corpus", corpus,
                              "--add", "30", "--out", tmp_path / "cli", "--json").stdout)
    report = retarget.adapt(fixtures / "llama-untied", tmp_path / "py", "swh", corpus, add=30)
    # Wall times differ from run to run; the stages are the same.
    assert [t["stage"] for t in report.pop("timings")] == [t["stage"] for t in expected.pop("timings")]
    assert json.dumps(report).replace(str(tmp_path / "py"), "OUT") == \
        json.dumps(expected).replace(str(tmp_path / "cli"), "OUT")
    for f in (tmp_path / "cli").iterdir():
        if f.name != "report.json":
            assert (tmp_path / "py" / f.name).read_bytes() == f.read_bytes(), f.name

    lines = [line[:200] for line in udhr_lines[:20]]
    text = tmp_path / "lines.txt"
    text.write_text("\n".join(lines) + "\n", encoding="utf-8")
    rows = [json.loads(r) for r in cli("score", "--model", tmp_path / "py", "-i", text, "--json").stdout.splitlines()]
    result = retarget.score(tmp_path / "py", lines)
    assert [(s.tokens, s.nll) for s in result.lines] == [(r["tokens"], r["nll"]) for r in rows[:-1]]
    assert {k: getattr(result, k) for k in rows[-1]} == rows[-1]


def test_bad_input(fixtures, tmp_path):
    missing = tmp_path / "missing"
    with pytest.raises(retarget.BadInput, match="missing"):
        retarget.inspect(missing)
    with pytest.raises(retarget.BadInput, match="missing"):
        retarget.Scorer(missing)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text("{not json")
    with pytest.raises(retarget.BadInput, match="config.json"):
        retarget.Scorer(broken)
    with pytest.raises(retarget.BadInput, match="merge_method|models|unknown"):
        retarget.merge({"merge_method": "nope", "models": []}, tmp_path / "out")
    with pytest.raises(retarget.BadInput, match="missing.yaml"):
        retarget.merge(tmp_path / "missing.yaml", tmp_path / "out")
    with pytest.raises(retarget.BadInput):
        retarget.adapt(fixtures / "llama-untied", tmp_path / "out", "swh", missing)
    with pytest.raises(retarget.BadInput, match="init"):
        retarget.adapt(fixtures / "llama-untied", tmp_path / "out", "swh", missing, init="nope")
    with pytest.raises(retarget.BadInput, match="unknown language"):
        langid.LangId("lingua", ["xx-not-a-language"])
    with pytest.raises(retarget.BadInput, match="missing"):
        langid.LangId(f"fasttext:{missing}")
    with pytest.raises(retarget.BadInput, match="unknown language"):
        langid.off_target_rate(["hello"], "zz-nope")
    with pytest.raises(TypeError):
        langid.predict("a single string")
    with pytest.raises(TypeError):
        langid.predict([1, 2])
    with pytest.raises(TypeError):
        retarget.inspect(42)
    with pytest.raises(TypeError):
        retarget.score(fixtures / "llama-tied", [None])
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"ok\n\xff\xfe broken\n")
    with pytest.raises(retarget.BadInput, match="bad.txt"):
        retarget.tokenizer_stats(fixtures / "llama-tied", {"x": bad})
    assert not (tmp_path / "out").exists()


def test_no_panic_reaches_the_interpreter(tmp_path):
    # Hostile calls in a child interpreter: it must exit normally.
    code = """
import retarget, retarget.sacrebleu as s, retarget.langid as l
for call in [lambda: s.BLEU().pairwise([]), lambda: s.CHRF().sentence_scores([], []),
             lambda: s.TER().corpus_score([''], [['']]), lambda: l.predict([]),
             lambda: s.BLEU.compute_bleu([0]*4, [0]*4, 0, 0),
             lambda: s.BLEU().corpus_score(['a'], [[None]])]:
    try:
        call()
    except Exception as e:
        print(type(e).__name__)
print('done')
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.strip().endswith("done"), proc.stderr
    assert "PanicException" not in proc.stdout + proc.stderr
