package dev.revenant.cli;

import dev.revenant.quant.CheckpointExport;
import dev.revenant.quant.GgufWriter;
import dev.revenant.quant.Precision;
import dev.revenant.sweep.QuantCache;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code revenant quantize}: a packed checkpoint that every command loads (PackedIo, GPTQ or AWQ layout), or a GGUF file. */
@Command(name = "quantize", mixinStandardHelpOptions = true,
        description = {"Quantize the Linear layers inside the decoder blocks of a float checkpoint and write Revenant's "
                + "packed checkpoint (safetensors + config.json with quantization_config); embeddings, norms and lm_head "
                + "are kept as stored, as bitsandbytes does through transformers. Precisions:",
            "  fp32 bf16 fp16      float casts (use --precision on any command; nothing to pack)",
            "  int8                bitsandbytes LLM.int8: per-row absmax int8 codes; activations per row, |x| >= 6.0 "
                    + "columns through fp16 with the dequantized weights",
            "  fp4 nf4             bitsandbytes 4-bit, blocks of 64 with an fp32 absmax (fp4 is the paper's 4-bit default)",
            "  rtn-wB[-gG][-sym]   the GPTQ authors' min-max quantizer without a Hessian: B bits, groups of G input "
                    + "columns (per row without -g), asymmetric unless -sym, round half to even (rtn-w8, rtn-w4-g128, "
                    + "rtn-w4-g128-sym, rtn-w3-g64, rtn-w2-g64)",
            "  q8_0 q4_0           GGUF blocks of 32 weights with an fp16 scale",
            "  gptq-wB[-gG][-sym][-act][-static]",
            "                      GPTQ (Frantar et al. 2022) as the authors' reference: calibration activations layer by layer "
                    + "(true-sequential), H = 2/N sum x x^T, 1% dampening, block 128, error feedback; -act = act-order "
                    + "(desc_act), -static = static groups (gptq-w4-g128, gptq-w4-g128-act, gptq-w8, gptq-w3-g128)",
            "  awq-wB-gG           AWQ (Lin et al. 2023): activation-aware per-channel scales (grid of 20), weight clipping "
                    + "search, B bits with zero point, groups of G (awq-w4-g128)",
            "GPTQ/AWQ read calibration text (--calib; default: a text shipped in the jar) and take minutes to hours on a CPU.",
            "--format gptq writes AutoGPTQ/GPTQModel's GPTQ v1 layout (qweight/qzeros with zero - 1/fp16 scales/g_idx, "
                    + "quantization_config quant_method gptq, checkpoint_format gptq); --format awq writes AutoAWQ's GEMM layout "
                    + "(quant_method awq, version gemm; 4 bits in groups). Both hold rtn-*, gptq-* and awq-* grids "
                    + "(e.g. rtn-w4-g128); other tensors are kept in their stored dtype. Revenant loads these, and "
                    + "checkpoints from AutoGPTQ/GPTQModel (v1, v2), AutoAWQ GEMM, compressed-tensors pack-quantized "
                    + "and bitsandbytes 4-bit, as it loads its own.",
            "--format gguf writes one GGUF v3 file that llama.cpp loads instead: q8_0 or q4_0 only, llama/mistral models "
                    + "with the byte-level tokenizer of `revenant synth` only; the decoder Linear weights become Q8_0/Q4_0 "
                    + "blocks, embeddings, norms and lm_head F32."})
final class QuantizeCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, description = "float model folder")
    Path model;

    @Option(names = "--precision", required = true, description = "a packed precision (see above)")
    String precision;

    @Option(names = "--format", defaultValue = "revenant",
            description = "revenant (default: packed safetensors checkpoint), gguf (llama.cpp file; q8_0/q4_0), "
                    + "gptq (AutoGPTQ v1 layout) or awq (AutoAWQ GEMM layout)")
    String format;

    @picocli.CommandLine.Mixin
    CalibOptions calib = new CalibOptions();

    @Option(names = "--out", required = true, description = "output folder; with --format gguf a file path ending "
            + "in .gguf, or a folder that gets OUT/model-<precision>.gguf")
    Path out;

    @Override
    public Integer call() throws Exception {
        if (!format.equals("revenant") && !format.equals("gguf")) {
            CheckpointExport.Format f = CheckpointExport.format(format);
            Precision p = Precision.parse(precision);
            CheckpointExport.config(p, f); // refuses a precision the layout cannot hold before anything else
            p.requireAvailable();
            checkOut();
            long t0 = System.nanoTime();
            var cal = dev.revenant.engine.CalibratedQuantizers.needsCalibration(p)
                    ? dev.revenant.engine.CalibratedQuantizers.calibrate(model, p, calib.options(), CalibrationLog.to(System.out, p))
                    : null;
            int n = cal == null ? CheckpointExport.write(model, p, f, out)
                    : CheckpointExport.write(model, p, f, out, cal.linear(), cal.replaced());
            System.out.printf("quantized %d Linear layers of %s to %s in %s layout (model.safetensors %,d bytes) -> %s (%.1f s)%n",
                    n, model, p.name(), format, Files.size(out.resolve("model.safetensors")), out, (System.nanoTime() - t0) / 1e9);
            return 0;
        }
        Precision p = Precision.parse(precision).requireAvailable();
        if (format.equals("gguf")) {
            return gguf(p);
        }
        if (p.kind() == Precision.Kind.FLOAT) {
            throw new IllegalArgumentException("--precision " + p.name() + " is a float cast: pass it to any command as "
                    + "--precision instead of writing a copy");
        }
        checkOut();
        long t0 = System.nanoTime();
        int quantized = QuantCache.writePacked(model, p, out, calib.options(), CalibrationLog.to(System.out, p));
        System.out.printf("quantized %d Linear layers of %s to %s (model.safetensors %,d bytes) -> %s (%.1f s)%n", quantized,
                model, p.name(), Files.size(out.resolve("model.safetensors")), out, (System.nanoTime() - t0) / 1e9);
        return 0;
    }

    private void checkOut() {
        if (Files.exists(out.resolve("config.json")) && out.toAbsolutePath().normalize().equals(model.toAbsolutePath().normalize())) {
            throw new IllegalArgumentException("--out must differ from --model");
        }
    }

    private int gguf(Precision p) {
        var type = GgufWriter.type(p);
        Path file = out.getFileName() != null && out.getFileName().toString().endsWith(".gguf") ? out
                : out.resolve("model-" + p.name() + ".gguf");
        long t0 = System.nanoTime();
        GgufWriter.Result r = GgufWriter.write(model, type, file);
        System.out.printf("wrote GGUF v3 (%d tensors, %d Linear layers as %s, %,d bytes) of %s -> %s (%.1f s)%n", r.tensors(),
                r.quantized(), p.name(), r.bytes(), model, r.file(), (System.nanoTime() - t0) / 1e9);
        return 0;
    }
}
