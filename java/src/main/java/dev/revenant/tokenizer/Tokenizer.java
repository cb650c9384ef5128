package dev.revenant.tokenizer;

/**
 * Text to token ids and back, with the semantics of Hugging Face {@code transformers}' fast tokenizers:
 * {@code encode(text, b)} equals {@code tokenizer(text, add_special_tokens=b)["input_ids"]} (no truncation,
 * no padding) and {@code decode(ids, s, c)} equals {@code tokenizer.decode(ids, skip_special_tokens=s,
 * clean_up_tokenization_spaces=c)}.
 *
 * <p>MUSE (muse-spec.md sections 3.1, 3.2 and 6) encodes prompts with special tokens (BOS prepended) and
 * decodes generations with {@code skip_special_tokens=True, clean_up_tokenization_spaces=True}.
 */
public interface Tokenizer extends AutoCloseable {

    /** Token ids of {@code text}; with {@code addSpecialTokens} the tokenizer's BOS/EOS (or template) are added. */
    int[] encode(String text, boolean addSpecialTokens);

    /**
     * Text of {@code ids}. An empty array gives {@code ""}. With {@code skipSpecialTokens} every id for which
     * {@link #isSpecial} holds is dropped first; with {@code cleanUpTokenizationSpaces} transformers'
     * {@code clean_up_tokenization} runs on the result ({@link CleanUp}). Negative ids are rejected; ids at or
     * above {@link #vocabSize()} are dropped, as the Rust library does.
     */
    String decode(int[] ids, boolean skipSpecialTokens, boolean cleanUpTokenizationSpaces);

    /** {@link #decode(int[], boolean, boolean)} with the tokenizer's own clean-up default ({@link #cleanUpDefault()}). */
    default String decode(int[] ids, boolean skipSpecialTokens) {
        return decode(ids, skipSpecialTokens, cleanUpDefault());
    }

    /** Id of the BOS token named by the tokenizer's config, or -1 if it names none. */
    int bosId();

    /** Id of the EOS token named by the tokenizer's config, or -1 if it names none. */
    int eosId();

    /**
     * Number of ids the tokenizer knows: the model vocabulary plus added tokens (HF's {@code len(tokenizer)}).
     * It can be smaller than a model's embedding rows (Qwen3: 151669 here, 151936 rows).
     */
    int vocabSize();

    /** True for ids that {@code skip_special_tokens} removes: added tokens flagged special, and the named special tokens. */
    boolean isSpecial(int id);

    /** The {@code clean_up_tokenization_spaces} value of tokenizer_config.json (false when absent). */
    boolean cleanUpDefault();

    /** Frees the native tokenizer; further calls fail with {@link IllegalStateException}. */
    @Override
    void close();
}
