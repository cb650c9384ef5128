#!/bin/sh
# Called by Maven (phase generate-resources): builds revenant_<family>.fatbin for every src/*.cu
# into $1 (ptxas -v report into $2, default $1/ptxas.txt) when nvcc exists, else says the CUDA
# backend is left out and succeeds anyway. A compile error fails the build.
out="$1"
report="${2:-$1/ptxas.txt}"
here="$(cd "$(dirname "$0")" && pwd)"
if [ -z "$out" ]; then
    echo "usage: maven-build.sh OUTDIR [REPORTFILE]" >&2
    exit 2
fi
nvcc=""
if command -v nvcc >/dev/null 2>&1; then
    nvcc="$(command -v nvcc)"
elif [ -x /usr/local/cuda/bin/nvcc ]; then
    nvcc=/usr/local/cuda/bin/nvcc
fi
if [ -z "$nvcc" ]; then
    echo "cuda: nvcc not found, CudaBackend left out"
    exit 0
fi
if ! command -v make >/dev/null 2>&1; then
    echo "cuda: make not found, CudaBackend left out"
    exit 0
fi
mkdir -p "$out" "$(dirname "$report")" || exit 1
make -s -j4 -C "$here" NVCC="$nvcc" OUT="$out" REPORT="$report" || exit 1
# One short line: registers and spill stores per kernel (from ptxas -v, sm_90a entries).
awk '
    /Compiling entry function/ { split($0, p, "'\''"); fn = p[2]; arch = p[4]; next }
    /spill stores/ { for (i = 1; i <= NF; i++) if ($(i+1) == "bytes" && $(i+2) == "spill" && $(i+3) == "stores") sp = $i; next }
    /Used [0-9]+ registers/ {
        if (arch == "sm_90a") {
            for (i = 1; i <= NF; i++) if ($i == "Used") r = $(i+1)
            s = s sep fn " " r "r" (sp + 0 > 0 ? "/" sp "B-spill" : "")
            sep = ", "
            if (sp + 0 > 0) spills++
        }
        sp = 0
    }
    END { printf "cuda: sm_90a registers: %s%s\n", s, (spills ? "  [WARNING: " spills " kernel(s) spill]" : "  (no spills)") }
' "$report"
