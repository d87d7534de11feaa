"""llama.cpp's quantizer (`llama_model_quantize`, as `llama-quantize --pure`
runs it) through llama-cpp-python: IN.gguf → OUT.gguf of TYPE.

Usage: llama_quantize.py LLAMA_CPP_DIR IN OUT TYPE   (TYPE: q8_0 q4_0 q4_1 q5_0 q5_1 q4_k q5_k q6_k)
"""

import ctypes
import sys

sys.path.insert(0, sys.argv[1])
import llama_cpp  # noqa: E402

# llama_ftype values of a file mostly of each type (q4_k/q5_k: the _S variants).
FTYPES = {"q8_0": 7, "q4_0": 2, "q4_1": 3, "q5_0": 8, "q5_1": 9, "q4_k": 14, "q5_k": 16, "q6_k": 18}

params = llama_cpp.llama_model_quantize_default_params()
params.ftype = FTYPES[sys.argv[4]]
params.nthread = 2
params.pure = True
if llama_cpp.llama_model_quantize(sys.argv[2].encode(), sys.argv[3].encode(), ctypes.byref(params)) != 0:
    sys.exit("llama_model_quantize failed")
