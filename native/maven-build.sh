#!/bin/sh
# Called by Maven (java/pom.xml, phase generate-resources): builds librevenant_cpu.so into $1
# (objects into $2) when gcc and make exist, else says the native backend is left out and succeeds anyway.
out="$1"
obj="${2:-$1/obj}"
here="$(cd "$(dirname "$0")" && pwd)"
if ! command -v gcc >/dev/null 2>&1 || ! command -v make >/dev/null 2>&1; then
    echo "native: gcc or make not found, NativeCpuBackend left out"
    exit 0
fi
case "$(uname -s)-$(uname -m)" in
    Linux-x86_64) ;;
    *) echo "native: not Linux x86-64 ($(uname -s)-$(uname -m)), NativeCpuBackend left out"; exit 0 ;;
esac
mkdir -p "$out" && exec make -s -C "$here" CC=gcc OUT="$out" OBJ="$obj"
