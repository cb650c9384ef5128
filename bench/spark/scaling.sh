#!/usr/bin/env bash
# Cells/hour of `SparkSweep` on a Spark standalone cluster of WORKERS one-core workers on this machine (loopback),
# every part its own JVM from the Maven jars, as SparkClusterTest starts them. Prints one summary line.
#   ./mvnw -B -o package -DskipTests      # the shaded jar and spark/target/{spark,shared}-jars.txt
#   bench/spark/scaling.sh WORKERS PLAN.yaml OUT
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
[[ $# -eq 3 ]] || { echo "usage: $0 WORKERS PLAN.yaml OUT" >&2; exit 2; }
n=$1; plan=$(readlink -f "$2"); out=$(readlink -m "$3")
java=${JAVA_HOME:?set JAVA_HOME to a JDK 25}/bin/java
jar=$(ls spark/target/revenant-spark-*.jar | grep -v original | head -n 1)
[[ -f spark/target/spark-jars.txt && -f $jar ]] || { echo "build first: ./mvnw -B -o package -DskipTests" >&2; exit 2; }

work=$(mktemp -d); home=$work/spark-home; mkdir -p "$home/jars" "$home/conf"
for j in $(tr ':' '\n' < spark/target/spark-jars.txt) $(tr ':' '\n' < spark/target/shared-jars.txt); do
    ln -sf "$j" "$home/jars/"
done
export SPARK_HOME=$home SPARK_SCALA_VERSION=2.13 SPARK_LOCAL_IP=127.0.0.1
# what Spark's launcher adds on JDK 17+, plus Revenant's flags (the same list as spark/pom.xml)
rv="--add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED"
opens="-XX:+IgnoreUnrecognizedVMOptions -Dio.netty.tryReflectionSetAccessible=true"
for p in java.lang java.lang.invoke java.lang.reflect java.io java.net java.nio java.util java.util.concurrent \
         java.util.concurrent.atomic jdk.internal.ref sun.nio.ch sun.nio.cs sun.security.action sun.util.calendar; do
    opens+=" --add-opens=java.base/$p=ALL-UNNAMED"
done
pids=()
cleanup() {
    for p in "${pids[@]}"; do
        for c in $(pgrep -P "$p" || true); do kill -9 "$c" 2>/dev/null || true; done   # the workers' executors
        kill -9 "$p" 2>/dev/null || true
    done
    [[ -n ${KEEP:-} ]] && echo "logs kept in $work" >&2 || rm -rf "$work"
}
trap cleanup EXIT
run() {  # NAME MAINCLASS ARGS...: a JVM in the background, log in $work/NAME.log
    local name=$1; shift
    # shellcheck disable=SC2086
    "$java" $rv $opens -Xmx512m -Xss4m -cp "$home/jars/*" "$@" > "$work/$name.log" 2>&1 &
    pids+=($!); disown $!
}
wait_log() {  # FILE PATTERN COUNT
    for _ in $(seq 600); do
        (( $(grep -c "$2" "$1" || true) >= $3 )) && return 0
        sleep 0.2
    done
    echo "timed out waiting for '$2' in $1" >&2; exit 1
}
port=$(( 20000 + RANDOM % 20000 ))
run master org.apache.spark.deploy.master.Master --host 127.0.0.1 --port $port --webui-port $(( port + 1 ))
wait_log "$work/master.log" "I have been elected leader" 1
for i in $(seq "$n"); do
    mkdir -p "$work/worker$i"
    run "worker$i" org.apache.spark.deploy.worker.Worker spark://127.0.0.1:$port --host 127.0.0.1 --cores 1 \
        --memory 2g --work-dir "$work/worker$i" --webui-port 0
done
wait_log "$work/master.log" "Registering worker" "$n"

t0=$(date +%s.%N)
# shellcheck disable=SC2086
"$java" $rv $opens -Xmx1g -cp "$home/jars/*" org.apache.spark.deploy.SparkSubmit --master spark://127.0.0.1:$port \
    --class dev.revenant.spark.SparkSweep --conf spark.driver.host=127.0.0.1 --conf spark.ui.enabled=false \
    --conf spark.executor.memory=1500m --conf "spark.executor.extraJavaOptions=$rv -Xss4m" \
    "$jar" --plan "$plan" --out "$out" --local-cache "$work/executor-cache" > "$work/driver.log" 2>&1 \
    || { tail -n 40 "$work/driver.log" >&2; exit 1; }
t1=$(date +%s.%N)
cp "$work/driver.log" "$out/spark-driver.log"
python3 - "$out/results.json" "$n" "$t0" "$t1" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); n = int(sys.argv[2]); wall = float(sys.argv[4]) - float(sys.argv[3])
cells = r["manifest"]["spark"]["cells"]
ev = sum(c["eval_seconds"] for c in cells); q = sum(c["quantize_seconds"] for c in cells)
print(f"workers {n}: {len(cells)} cells in {wall:.1f} s wall = {len(cells) * 3600 / wall:.0f} cells/hour; "
      f"tasks {r['manifest']['spark']['tasks']}; eval {ev:.1f} s + quantize {q:.1f} s summed over cells "
      f"(mean {ev / len(cells):.1f} + {q / len(cells):.1f} s per cell); the rest, {wall - (ev + q) / n:.1f} s, "
      f"is start-up, hashing, scheduling and the driver's reports")
PY
