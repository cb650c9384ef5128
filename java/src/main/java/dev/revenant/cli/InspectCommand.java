package dev.revenant.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.revenant.model.ConfigLoader;
import dev.revenant.model.ModelConfig;
import dev.revenant.safetensors.Checkpoint;
import dev.revenant.tensor.Tensor;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code revenant inspect DIR}: architecture, parameter count, dtypes, tensors, config summary. Reads headers only. */
@Command(name = "inspect", mixinStandardHelpOptions = true,
        description = "Show a checkpoint's architecture, parameter count, dtypes, tensors and config (reads headers only).")
final class InspectCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "DIR", description = "model folder (config.json + safetensors)")
    Path dir;

    @Option(names = "--json", description = "print JSON instead of text")
    boolean json;

    @Option(names = "--tensors", description = "list every tensor (text mode lists the first 20 otherwise)")
    boolean allTensors;

    @Override
    public Integer call() throws Exception {
        ModelConfig c = ConfigLoader.load(dir);
        try (Checkpoint ck = Checkpoint.open(dir)) {
            long params = 0;
            Map<String, Long> byDtype = new TreeMap<>();
            List<Map<String, Object>> tensors = new ArrayList<>();
            for (String n : ck.names()) {
                Tensor t = ck.tensor(n);
                params += t.numel();
                byDtype.merge(t.dtype().name(), t.numel(), Long::sum);
                Map<String, Object> e = new LinkedHashMap<>();
                e.put("name", n);
                e.put("dtype", t.dtype().name());
                e.put("shape", t.shape());
                tensors.add(e);
            }
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("path", dir.toAbsolutePath().toString());
            out.put("model_type", c.modelType());
            out.put("parameters", params);
            out.put("bytes", ck.totalBytes());
            out.put("files", ck.files().size());
            out.put("dtypes", byDtype);
            out.put("config", c);
            out.put("tensors", tensors);
            if (json) {
                System.out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(out));
                return 0;
            }
            System.out.printf("%s%n  model_type   %s%n  parameters   %,d (%.3f B)%n  bytes        %,d in %d file(s)%n",
                    dir, c.modelType(), params, params / 1e9, ck.totalBytes(), ck.files().size());
            System.out.printf("  dtypes       %s%n", byDtype);
            System.out.printf("  layers %d, hidden %d, intermediate %d, heads %d (kv %d, head_dim %d), vocab %d%n",
                    c.numLayers(), c.hiddenSize(), c.intermediateSize(), c.numHeads(), c.numKvHeads(), c.headDim(), c.vocabSize());
            System.out.printf("  norm %s eps %g, act %s, rope %s theta %g (rotary dims %d), tied %s, sliding window %s%n",
                    c.family().norm(), c.normEps(), c.activation(), c.rope().type(), c.rope().theta(), c.rope().rotaryDim(),
                    c.tieWordEmbeddings(), c.slidingWindow() == 0 ? "none" : c.slidingWindow());
            System.out.printf("  tensors      %d%n", tensors.size());
            int shown = allTensors ? tensors.size() : Math.min(20, tensors.size());
            for (int i = 0; i < shown; i++) {
                Map<String, Object> e = tensors.get(i);
                System.out.printf("    %-60s %-5s %s%n", e.get("name"), e.get("dtype"), java.util.Arrays.toString((long[]) e.get("shape")));
            }
            if (shown < tensors.size()) {
                System.out.printf("    ... %d more (--tensors lists all)%n", tensors.size() - shown);
            }
        }
        return 0;
    }
}
