package dev.revenant.quant;

/**
 * One layer quantized by {@link GptqQuantizer}.
 *
 * @param packed the codes (original column order), scales and zeros {@code [groups, rows]}, {@code g_idx}
 * @param actOrder the act-order permutation ({@code argsort(diag(H), descending)}), or null without act-order
 * @param loss GPTQ's own objective, {@code Σ (w − q)² / U_ii² / 2} over all weights (the authors' {@code Losses})
 * @param nanos wall time of the quantization loop (the factor's time is not included)
 */
public record GptqResult(GptqPacked packed, int[] actOrder, double loss, long nanos) {
}
