"""retarget.ray on a local Ray cluster: scripts/ray/filter_corpus.py gives
exactly `retarget eval langid`'s per-line labels, and the other callables
give the numbers of their single-machine counterparts."""

import json
import subprocess
import sys

import pytest

ray = pytest.importorskip("ray")
import pyarrow.parquet as pq  # noqa: E402

import retarget  # noqa: E402
import retarget.ray as rr  # noqa: E402
import retarget.sacrebleu as rs  # noqa: E402


@pytest.fixture(scope="module")
def cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    ray.data.DataContext.get_current().execution_options.preserve_order = True
    ray.data.DataContext.get_current().enable_progress_bars = False
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()


def test_filter_corpus_labels_equal_cli(cluster, cli, root, udhr_lines, tmp_path):
    lines = udhr_lines[:1500] + ["", "  "] + udhr_lines[1500:2500]
    text = tmp_path / "corpus.txt"
    text.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    model = root / "examples/assets/fasttext/lid.176.ftz"
    proc = subprocess.run(
        [sys.executable, str(root / "scripts/ray/filter_corpus.py"), "--input", str(text), "--lang", "en",
         "--out", str(tmp_path / "kept"), "--labels", str(tmp_path / "labels"), "--workers", "2",
         "--backend", f"fasttext:{model}", "--batch-size", "500", "--address", cluster],
        capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout)
    labels = pq.read_table(tmp_path / "labels").to_pylist()
    assert [r["text"] for r in labels] == lines
    out = cli("eval", "langid", "-i", text, "--backend", f"fasttext:{model}", "--expect", "en").stdout
    expected = [line.split("\t")[0] for line in out.splitlines() if not line.startswith("#")]
    assert [r["lang"] or "-" for r in labels] == expected
    summary = json.loads(cli("eval", "langid", "-i", text, "--backend", f"fasttext:{model}", "--expect", "en",
                             "--json", "--summary-only").stdout)["summary"]
    assert report["on_target"] == summary["on_target"] and report["off_target"] == summary["off_target"]
    assert report["off_target_rate"] == pytest.approx(summary["off_target_rate"], abs=1e-12)
    kept = pq.read_table(tmp_path / "kept").column("text").to_pylist()
    assert kept == [line for line, r in zip(lines, labels) if r["on_target"]]


def test_callables(cluster, root, fixtures, corpora):
    hyps, refs = corpora["generated"]
    ds = ray.data.from_items([{"hyp": h, "ref": r} for h, r in zip(hyps, refs[0])])
    scored = ds.map_batches(rr.SentenceScorer, fn_constructor_kwargs={"metric": "chrf", "word_order": 2},
                            concurrency=1, batch_size=64).take_all()
    assert [r["score"] for r in scored] == rs.CHRF(word_order=2).sentence_scores(hyps, refs[0])

    tokenizer = str(fixtures / "llama-tied")
    counted = ray.data.from_items([{"text": h} for h in hyps]).map_batches(
        rr.TokenCounts, fn_constructor_kwargs={"tokenizer": tokenizer}, concurrency=1, batch_size=50).materialize()
    row = rr.tokenizer_report(counted, tokenizer, "mix")
    expected = retarget.tokenizer_stats(tokenizer, {"mix": hyps})[0]
    assert row == expected

    lines = [h for h in hyps[:30] if h.strip()]
    nll = ray.data.from_items([{"text": t} for t in lines]).map_batches(
        rr.NllScorer, fn_constructor_kwargs={"model": tokenizer}, concurrency=1, batch_size=8).take_all()
    result = retarget.score(tokenizer, lines)
    assert [(r["tokens"], r["nll"]) for r in nll] == [(s.tokens, s.nll) for s in result.lines]
