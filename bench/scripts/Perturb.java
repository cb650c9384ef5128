// A synthetic "unlearned" model: a copy of a checkpoint in which a fraction of the weights of the decoder
// Linear layers of the first layers is nudged by a small relative amount, so that some of them cross a
// quantization bucket and most do not (the situation the same-bucket diagnostics measure). Deterministic.
// Usage (single-file source launch, the revenant jar on the class path):
//   java -cp java/target/revenant-*-cli.jar bench/scripts/Perturb.java SRC DST LAYERS FRACTION SCALE SEED
import dev.revenant.safetensors.Checkpoint;
import dev.revenant.safetensors.SafetensorsWriter;
import dev.revenant.tensor.DType;
import dev.revenant.tensor.Tensor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

public class Perturb {
    public static void main(String[] a) throws Exception {
        Path src = Path.of(a[0]);
        Path dst = Path.of(a[1]);
        int layers = Integer.parseInt(a[2]);
        double fraction = Double.parseDouble(a[3]);
        double scale = Double.parseDouble(a[4]);
        Random rnd = new Random(Long.parseLong(a[5]));
        Files.createDirectories(dst);
        for (String f : new String[] {"config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json"}) {
            if (Files.exists(src.resolve(f))) {
                Files.copy(src.resolve(f), dst.resolve(f), StandardCopyOption.REPLACE_EXISTING);
            }
        }
        List<Tensor> out = new ArrayList<>();
        long changed = 0;
        try (Checkpoint c = Checkpoint.open(src)) {
            for (String name : c.names()) {
                Tensor t = c.tensor(name);
                if (t.dtype() != DType.F32) {
                    throw new IllegalArgumentException(name + ": this script perturbs F32 checkpoints, found " + t.dtype());
                }
                float[] v = t.toFloatArray();
                boolean target = name.endsWith("_proj.weight") && layerOf(name) >= 0 && layerOf(name) < layers;
                for (int i = 0; target && i < v.length; i++) {
                    if (rnd.nextDouble() < fraction) {
                        v[i] = (float) (v[i] * (1 + scale * rnd.nextGaussian()));
                        changed++;
                    }
                }
                out.add(Tensor.ofFloats(name, v, t.shape()));
            }
        }
        SafetensorsWriter.write(dst.resolve("model.safetensors"), out, Map.of("format", "pt"));
        System.out.println("perturbed " + changed + " weights of layers < " + layers + " -> " + dst);
    }

    static int layerOf(String name) {
        String p = "model.layers.";
        if (!name.startsWith(p)) {
            return -1;
        }
        return Integer.parseInt(name.substring(p.length(), name.indexOf('.', p.length())));
    }
}
