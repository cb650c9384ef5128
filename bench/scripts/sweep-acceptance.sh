#!/usr/bin/env bash
# The sweep acceptance run (issue 6): 3 synthetic models (target; an "unlearned" copy of it with 30% of the
# weights of layers 0-1 nudged by ~5%; an unrelated "retrain") × 8 precisions over the bundled MUSE-format
# test corpus. Writes every report into OUT (default /tmp/rv-sweep-acceptance). Usage: bench/scripts/sweep-acceptance.sh [OUT]
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-/tmp/rv-sweep-acceptance}
m=$out.models
rm -rf "$m" && mkdir -p "$m"
./revenant synth --preset tiny --dtype f32 --seed 1 --out "$m/target"
./revenant synth --preset tiny --dtype f32 --seed 2 --out "$m/retrain"
jar=$(ls java/target/revenant-*-cli.jar | head -1)
"${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}/bin/java" -cp "$jar" bench/scripts/Perturb.java "$m/target" "$m/unlearned" 2 0.3 0.05 7
./revenant sweep --models "target=$m/target,unlearned=$m/unlearned,retrain=$m/retrain" --roles retrain=retrain \
    --precisions fp32,bf16,int8,nf4,fp4,q8_0,q4_0,rtn-w4-g128 --data java/src/test/resources/muse-mini --corpus news \
    --limit 4 --out "$out"
ls "$out"
