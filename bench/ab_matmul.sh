#!/bin/bash
# Old/new A/B of `revenant bench matmul` on a shared machine: every configuration runs each jar back to back,
# in reversed order every other round, one line per run (ms, GFLOP/s, FMA peak and ratio, GB/s, read bandwidth and
# ratio, all measured by that invocation, and the 1-minute load average at its end).
#   bench/ab_matmul.sh "old.jar new.jar" "bf16 nf4" "4096x4096 11008x4096" BATCH [ROUNDS]
# Needs JAVA_HOME (JDK 25) or a java 25 on the PATH, and python3.
J=${JAVA_HOME:+$JAVA_HOME/bin/}java
jars=($1); P=$2; S=$3; b=$4; R=${5:-3}
for r in $(seq 1 "$R"); do
  for s in $S; do for p in $P; do
    order=("${jars[@]}")
    if [ $((r % 2)) -eq 0 ]; then order=($(printf '%s\n' "${jars[@]}" | tac)); fi
    for jar in "${order[@]}"; do
      "$J" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -jar "$jar" bench matmul --backend native \
        --precision "$p" --shape "$s" --batch "$b" --threads 2 --json 2>/dev/null | sed -n '/^{/,/^}/p' |
        python3 -c "import json,sys;d=json.load(sys.stdin);print('R$r %-14s %-12s %-10s b%-3s %8.3f ms gflops %6.1f peak %5.0f r_fma %.3f gbps %6.2f bw %5.1f r_bw %.3f load %s'%('$(basename "$jar")','$p','$s','$b',d['median_ms'],d['gflops'],d['fma_peak_gflops'],d['ratio_fma'],d['gbps'],d['read_bw_gbps'],d['ratio_bw'],open('/proc/loadavg').read().split()[0]))"
    done
  done; done
done
