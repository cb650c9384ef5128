#!/usr/bin/env bash
# Here (no GPU needed): builds the project and packs what the GPU machine needs into .device/
# (ignored by git): the jlink'ed runtime and jars (../shared/device/pack.sh) plus the fixture models.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash ../shared/device/pack.sh "$@"
# the travelling tree is capped at 64 MiB: drop the fat jar and what the cuda commands never load
# (tokenizers, DJL, charts), and take the fixture models that the check reads
rm -f .device/lib/*-cli.jar .device/lib/tokenizers-*.jar .device/lib/api-*.jar .device/lib/jna-*.jar \
      .device/lib/commons-*.jar .device/lib/gson-*.jar .device/lib/xchart-*.jar
rm -rf .device/fixtures && mkdir -p .device/fixtures/models
for m in llama llama3 mistral qwen2 qwen3 gemma phi3 phi llama-bf16; do
    cp -r ../shared/fixtures/models/$m .device/fixtures/models/
done
du -sh .device
