#!/usr/bin/env bash
# Runs every cross-check against the reference implementations.
# Usage: scripts/crosscheck/run.sh [path/to/retarget-binary]
# Builds the binary (release) if not given, fetches the example assets, writes
# the fixtures and runs each check script in the cached virtualenv.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
bin=${1:-}
if [ -z "$bin" ]; then
  cargo build --release --quiet --bin retarget --bin make-fixtures
  bin="$root/target/release/retarget"
fi
fixtures_bin="$(dirname "$bin")/make-fixtures"
venv=$(bash scripts/crosscheck/venv.sh)
bash scripts/fetch-examples.sh
work=$(mktemp -d "${TMPDIR:-/tmp}/retarget-crosscheck.XXXXXX")
trap 'rm -rf "$work"' EXIT
"$fixtures_bin" "$work/fixtures" >/dev/null
status=0
# Each check's models go once it has run: the merges alone take GBs.
done_with() { rm -rf "$work/$1"; }
# The reliability probe: kills, a full disk (tmpfs, where mounting one is allowed), hostile files.
python3 scripts/crosscheck/adversarial.py --retarget "$bin" --fixtures-bin "$fixtures_bin" \
  --gguf examples/assets/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf --work "$work/adversarial" || status=1
done_with adversarial
"$venv/bin/python" scripts/crosscheck/model_check.py \
  --retarget "$bin" --fixtures "$work/fixtures" --assets examples/assets --work "$work" || status=1
"$venv/bin/python" scripts/crosscheck/sacrebleu_check.py --retarget "$bin" --work "$work/sacrebleu" || status=1
done_with sacrebleu
"$bin" convert examples/assets/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf "$work/smollm2" >/dev/null
"$venv/bin/python" scripts/crosscheck/tokenizer_check.py --retarget "$bin" --assets examples/assets \
  --tokenizers examples/assets/xlmr-tokenizer/tokenizer.json "$work/smollm2" \
  "$work/fixtures/bert" "$work/fixtures/t5" "$work/fixtures/llama-tied" || status=1
"$venv/bin/python" scripts/crosscheck/merge_check.py --retarget "$bin" --fixtures "$work/fixtures" \
  --smollm2 "$work/smollm2" --smollm2-gguf examples/assets/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf \
  --work "$work/merge" || status=1
done_with merge
"$venv/bin/python" scripts/crosscheck/infer_check.py --retarget "$bin" --fixtures "$work/fixtures" \
  --assets examples/assets --smollm2 "$work/smollm2" --smollm2-gguf examples/assets/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf \
  --work "$work/infer" || status=1
done_with infer
"$venv/bin/python" scripts/crosscheck/control_check.py --retarget "$bin" --smollm2 "$work/smollm2" \
  --fixtures "$work/fixtures" --addons "$(bash scripts/crosscheck/addons.sh "$venv")" \
  --assets examples/assets --work "$work/control" || status=1
done_with control
"$venv/bin/python" scripts/crosscheck/gemma_check.py --retarget "$bin" \
  --gguf examples/assets/gemma3/gemma-3-270m-q4_k_m.gguf --assets examples/assets --work "$work/gemma" || status=1
done_with gemma
"$venv/bin/python" scripts/crosscheck/gguf_sentencepiece_check.py --retarget "$bin" --assets examples/assets \
  --work "$work/gguf-sentencepiece" || status=1
done_with gguf-sentencepiece
"$venv/bin/python" scripts/crosscheck/gguf_export_check.py --retarget "$bin" --smollm2 "$work/smollm2" \
  --fixtures "$work/fixtures" --assets examples/assets --llama-cpp "$(bash scripts/crosscheck/llama_cpp.sh "$venv")" \
  --gemma-gguf examples/assets/gemma3/gemma-3-270m-q4_k_m.gguf --work "$work/gguf-export" || status=1
done_with gguf-export
"$venv/bin/python" scripts/crosscheck/translate_check.py --retarget "$bin" --fixtures "$work/fixtures" \
  --work "$work/translate" || status=1
done_with translate
"$venv/bin/python" scripts/crosscheck/vocab_check.py --retarget "$bin" --fixtures "$work/fixtures" \
  --assets examples/assets --smollm2 "$work/smollm2" --work "$work/vocab" \
  --addons "$(bash scripts/crosscheck/addons.sh "$venv")" --fasttext "$venv/isolated/fasttext-wheel" || status=1
done_with vocab
"$venv/bin/python" scripts/crosscheck/adapt_check.py --retarget "$bin" --fixtures "$work/fixtures" \
  --assets examples/assets --work "$work/adapt" || status=1
done_with adapt
"$venv/bin/python" scripts/crosscheck/sentencepiece_check.py --retarget "$bin" --assets examples/assets \
  --work "$work/sentencepiece" || status=1
done_with sentencepiece
"$venv/bin/python" scripts/crosscheck/langid_check.py --retarget "$bin" --assets examples/assets \
  --work "$work/langid" --predict-path "$venv/isolated/fasttext-predict" \
  --train-path "$venv/isolated/fasttext-wheel" || status=1
done_with langid
exit $status
