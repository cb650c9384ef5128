package dev.revenant.tokenizer;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.BitSet;
import java.util.Objects;

/**
 * A Hugging Face tokenizer folder (tokenizer.json, optional tokenizer_config.json and special_tokens_map.json)
 * run by the Rust {@code tokenizers} library through DJL, behaving like transformers' fast tokenizer:
 * <ul>
 *   <li>Special tokens on encode: when tokenizer_config.json has {@code add_bos_token} or
 *       {@code add_eos_token} (the Llama family: transformers rebuilds the post-processor from them), BOS/EOS
 *       are added here from those flags; a flag that is absent keeps what tokenizer.json's post-processor does.
 *       Without either flag the post-processor of tokenizer.json decides (Llama-3: ByteLevel, adds nothing).</li>
 *   <li>Never truncates or pads.</li>
 *   <li>Decode: specials are dropped here ({@link #isSpecial}), then the tokenizer.json decoder runs; the
 *       {@code clean_up_tokenization_spaces} step, absent from the Rust library, is {@link CleanUp}.</li>
 * </ul>
 * Thread-safe: the Rust tokenizer is immutable once built.
 */
public final class HfTokenizer implements Tokenizer {
    static final String TOKENIZER_JSON = "tokenizer.json";

    private final HuggingFaceTokenizer djl;
    private final Path dir;
    private final int vocabSize;
    private final int bosId;
    private final int eosId;
    private final BitSet special;
    private final boolean cleanUpDefault;
    /** null: tokenizer.json's post-processor adds the special tokens; else add BOS / EOS here per these flags. */
    private final boolean[] addBosEos;

    private HfTokenizer(HuggingFaceTokenizer djl, Path dir, HfConfig cfg, TokenizerJson tj) {
        this.djl = djl;
        this.dir = dir;
        this.vocabSize = tj.vocabSize();
        this.cleanUpDefault = cfg.cleanUp();
        this.bosId = idOfRole(cfg, tj, "bos_token");
        this.eosId = idOfRole(cfg, tj, "eos_token");
        this.special = new BitSet();
        tj.addedSpecial().forEach(special::set);
        cfg.decoderSpecial().forEach(special::set);
        for (String t : cfg.tokenTexts()) {
            int id = tj.idOf(t);
            if (id >= 0) {
                special.set(id);
            }
        }
        if (cfg.addBosToken() == null && cfg.addEosToken() == null) {
            this.addBosEos = null;
        } else {
            // A flag left out keeps what the post-processor does: probe it on the empty text.
            int[] probe = toInts(djl.encode("", true, false).getIds());
            boolean postBos = probe.length > 0 && bosId >= 0 && probe[0] == bosId;
            boolean postEos = probe.length > 0 && eosId >= 0 && probe[probe.length - 1] == eosId;
            boolean bos = cfg.addBosToken() != null ? cfg.addBosToken() : postBos;
            boolean eos = cfg.addEosToken() != null ? cfg.addEosToken() : postEos;
            Path cfgFile = dir.resolve(HfConfig.CONFIG);
            if (bos && bosId < 0) {
                throw new TokenizerException(cfgFile + ": add_bos_token is true but no bos_token is defined (or it is not in "
                        + TOKENIZER_JSON + ")");
            }
            if (eos && eosId < 0) {
                throw new TokenizerException(cfgFile + ": add_eos_token is true but no eos_token is defined (or it is not in "
                        + TOKENIZER_JSON + ")");
            }
            this.addBosEos = new boolean[] {bos, eos};
        }
    }

    /**
     * Loads the tokenizer in {@code dir} (a folder, or its tokenizer.json). Fails with a {@link TokenizerException}
     * naming the file when a file is missing, unreadable, not valid JSON (with line and column) or rejected by
     * the tokenizers library.
     */
    public static HfTokenizer load(Path dir) {
        Objects.requireNonNull(dir, "dir");
        Path json;
        if (Files.isRegularFile(dir) && dir.getFileName().toString().equals(TOKENIZER_JSON)) {
            json = dir;
            dir = dir.toAbsolutePath().getParent();
        } else if (!Files.exists(dir)) {
            throw new TokenizerException(dir + ": tokenizer folder does not exist");
        } else if (!Files.isDirectory(dir)) {
            throw new TokenizerException(dir + ": expected a tokenizer folder (with " + TOKENIZER_JSON + "), found a file");
        } else {
            json = dir.resolve(TOKENIZER_JSON);
        }
        if (!Files.isRegularFile(json)) {
            throw new TokenizerException(json + ": missing; a tokenizer folder needs the Hugging Face fast-tokenizer file "
                    + TOKENIZER_JSON + " (tokenizer.model / vocab files alone are not supported)");
        }
        ObjectMapper mapper = new ObjectMapper();
        HfConfig cfg = HfConfig.read(dir, mapper);
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(json);
        } catch (IOException e) {
            throw new TokenizerException(json + ": cannot read: " + e, e);
        }
        TokenizerJson tj = TokenizerJson.scan(json, bytes, cfg.tokenTexts(), mapper);
        HuggingFaceTokenizer djl = DjlRuntime.create(json, bytes);
        try {
            return new HfTokenizer(djl, dir, cfg, tj);
        } catch (RuntimeException e) {
            djl.close();
            throw e;
        }
    }

    private static int idOfRole(HfConfig cfg, TokenizerJson tj, String role) {
        String t = cfg.named().get(role);
        return t == null ? -1 : tj.idOf(t);
    }

    @Override
    public int[] encode(String text, boolean addSpecialTokens) {
        Objects.requireNonNull(text, "text");
        if (addBosEos == null) {
            return toInts(djl.encode(text, addSpecialTokens, false).getIds());
        }
        int[] body = toInts(djl.encode(text, false, false).getIds());
        if (!addSpecialTokens) {
            return body;
        }
        int pre = addBosEos[0] ? 1 : 0;
        int post = addBosEos[1] ? 1 : 0;
        int[] out = new int[pre + body.length + post];
        System.arraycopy(body, 0, out, pre, body.length);
        if (pre == 1) {
            out[0] = bosId;
        }
        if (post == 1) {
            out[out.length - 1] = eosId;
        }
        return out;
    }

    @Override
    public String decode(int[] ids, boolean skipSpecialTokens, boolean cleanUpTokenizationSpaces) {
        Objects.requireNonNull(ids, "ids");
        long[] keep = new long[ids.length];
        int n = 0;
        for (int i = 0; i < ids.length; i++) {
            int id = ids[i];
            if (id < 0) {
                throw new IllegalArgumentException("decode: token id " + id + " at index " + i + " is negative");
            }
            if (!(skipSpecialTokens && special.get(id))) {
                keep[n++] = id;
            }
        }
        if (n == 0) {
            return "";
        }
        String s = djl.decode(n == keep.length ? keep : Arrays.copyOf(keep, n), false);
        return cleanUpTokenizationSpaces ? CleanUp.apply(s) : s;
    }

    /** DJL hands ids back as long[]; the Rust side uses u32, so anything outside [0, 2^31) is a bug, not data. */
    private static int[] toInts(long[] ids) {
        int[] out = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            long v = ids[i];
            if (v < 0 || v > Integer.MAX_VALUE) {
                throw new IllegalStateException("tokenizers returned token id " + v + " at index " + i + ", outside the int range");
            }
            out[i] = (int) v;
        }
        return out;
    }

    @Override
    public int bosId() {
        return bosId;
    }

    @Override
    public int eosId() {
        return eosId;
    }

    @Override
    public int vocabSize() {
        return vocabSize;
    }

    @Override
    public boolean isSpecial(int id) {
        return id >= 0 && special.get(id);
    }

    @Override
    public boolean cleanUpDefault() {
        return cleanUpDefault;
    }

    /** The folder this tokenizer was loaded from. */
    public Path dir() {
        return dir;
    }

    @Override
    public void close() {
        djl.close();
    }

    @Override
    public String toString() {
        return "HfTokenizer[" + dir + ", vocab " + vocabSize + ", bos " + bosId + ", eos " + eosId + "]";
    }
}
