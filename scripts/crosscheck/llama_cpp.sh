#!/usr/bin/env bash
# Prints a folder holding llama-cpp-python (llama.cpp's libraries and their
# Python bindings) and, under convert/, llama.cpp's own converter
# (convert_hf_to_gguf.py with its conversion/ and gguf-py/ packages from the
# same sdist), for the GGUF export cross-check. The wheel is built once from
# PyPI's sdist (llama.cpp compiled for the portable x86-64 baseline, ~9
# minutes on 2 cores) and cached in ~/.cache/retarget/wheels, keyed by
# version; the folder beside the cross-check virtualenv is unpacked from it.
# The argument is the virtualenv (its pip does the work).
set -euo pipefail
venv=$1
version=0.3.36
cache=$(dirname "$venv")
wheels="$cache/wheels"
dir="$cache/llama-cpp-python-$version"
if [ ! -f "$dir/.complete" ]; then
    mkdir -p "$wheels"
    if ! ls "$wheels"/llama_cpp_python-"$version"-*.whl >/dev/null 2>&1; then
        CMAKE_ARGS="-DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_SERVER=OFF -DGGML_NATIVE=OFF -DLLAMA_CURL=OFF" \
        CMAKE_BUILD_PARALLEL_LEVEL=2 \
            "$venv/bin/pip" wheel --quiet --no-deps "llama-cpp-python==$version" -w "$wheels" >&2
    fi
    rm -rf "$dir"
    "$venv/bin/pip" install --quiet --no-deps --target "$dir" "$wheels"/llama_cpp_python-"$version"-*.whl diskcache==5.6.3 >&2
    sdist=$(mktemp -d)
    "$venv/bin/pip" download --quiet --no-deps --no-binary llama-cpp-python "llama-cpp-python==$version" -d "$sdist" >&2
    tar -xzf "$sdist"/llama_cpp_python-"$version".tar.gz -C "$sdist"
    mkdir -p "$dir/convert"
    for part in convert_hf_to_gguf.py conversion gguf-py; do
        cp -r "$sdist/llama_cpp_python-$version/vendor/llama.cpp/$part" "$dir/convert/"
    done
    rm -rf "$sdist"
    touch "$dir/.complete"
fi
echo "$dir"
