"""DeepSeek-V3.2 family: MLA with every key (`dense`) vs DeepSeek Sparse Attention (`sparse`, top-k), dense MLPs.

Follows transformers' `DeepseekV32ForCausalLM` (DeepSeek-AI, "DeepSeek-V3.2", 2025). transformers builds the
same layer everywhere: MLA (q LoRA, compressed KV latent, interleaved RoPE on a shared key slice) plus the DSA
"lightning indexer", which scores every past key and masks all but the `index_topk` best. So the variants
differ in one number, not in modules: `sparse` keeps `model.index_topk` keys per query; `dense` sets
`index_topk` to the longest context the model accepts, so the indexer never drops a key and the layer is
plain MLA (the indexer still runs and caches its keys, as in the released model). Parameter counts are equal.

Patterns are `dense` and `sparse` (not F/L strings); `layer_kinds` reports "full_attention" (dense) or
"sparse_attention" per layer. transformers' own layer-type name differs by version ("deepseek_sparse_attention"
in 5.17, "indexed_attention" later), so the config is built without `layer_types` and takes the default.

Caveat for probes: transformers runs the indexer under `torch.no_grad()` and has no indexer loss, so a sparse
probe trained from scratch selects keys with its randomly initialised indexer (DeepSeek trains it with a KL
loss towards the dense attention, after a dense warm-up).
"""
from __future__ import annotations

import functools

from transformers import AutoConfig

from hybrid_eval.models.family import Family, ModelConfigError, PRESETS, Preset, register

PATTERNS = {"dense": "full_attention", "sparse": "sparse_attention"}


@register
class DeepseekV32(Family):
    name = "deepseek_v32"
    model_type = "deepseek_v32"
    layer_names = PATTERNS
    released_pattern = "sparse"
    patterns = ("dense", "sparse")
    reference_pattern = "dense"
    knobs = {"index_topk": 64}
    presets = PRESETS
    max_context = 8192  # max_position_embeddings; `dense` uses it as index_topk

    def layer_types(self, pattern, n_layers):
        if str(pattern) not in PATTERNS:
            raise ModelConfigError(
                f"model.pattern={pattern!r} is not valid for {self.name}; accepted: dense (MLA over every key), "
                f"sparse (DSA: each query keeps model.index_topk keys)"
            )
        return [PATTERNS[str(pattern)]] * n_layers

    def layer_kinds(self, config):
        dense = config.index_topk >= config.max_position_embeddings
        return [PATTERNS["dense" if dense else "sparse"]] * config.num_hidden_layers

    def built_pattern(self, model):
        # both variants build the same attention module; the indexer's top-k says which one it is
        dense = [layer.self_attn.indexer.index_topk >= model.config.max_position_embeddings
                 for layer in model.model.layers]
        return ["dense" if d else "sparse" for d in dense]

    def normalize_config(self, config):
        # a checkpoint saved by another transformers version names the layer type differently; use this one's
        default = AutoConfig.for_model("deepseek_v32", num_hidden_layers=1).layer_types[0]
        config.layer_types = [default] * config.num_hidden_layers

    def check_knobs(self, **knobs):
        k = knobs.get("index_topk", self.knobs["index_topk"])
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ModelConfigError(f"model.index_topk={k!r} is not valid; accepted: a positive integer (keys kept per query)")

    @staticmethod
    def mla_dims(preset: Preset) -> dict:
        hd = preset.head_dim  # DeepSeek-V3: kv_lora_rank 512 = 4 x v_head_dim, rope 64 = v/2, q LoRA 1536
        return {"kv_lora_rank": min(4 * hd, preset.hidden // 2), "q_lora_rank": preset.hidden // 2,
                "qk_rope_head_dim": hd // 2, "qk_nope_head_dim": hd, "v_head_dim": hd}

    def hf_config(self, pattern, preset: Preset, vocab_size, intermediate, **extra):
        n = preset.layers
        self.layer_types(pattern, n)
        max_pos = extra.get("max_position_embeddings", self.max_context)
        topk = max_pos if pattern == "dense" else int(extra.get("index_topk", self.knobs["index_topk"]))
        return AutoConfig.for_model(
            "deepseek_v32",
            **preset.trunk(vocab_size, intermediate, extra, max_position=self.max_context),
            num_key_value_heads=preset.heads,
            **self.mla_dims(preset),
            index_topk=topk,
            index_n_heads=max(4, preset.heads // 2),  # V3.2: 64 indexer heads beside 128 attention heads; >= 4 so
            # few keys tie at score 0 (ReLU scoring): transformers breaks such ties differently at different lengths
            index_head_dim=preset.head_dim,
            mlp_layer_types=["dense"] * n,
            first_k_dense_replace=n,
        )

    @staticmethod
    def kv_values_per_token(config, latent: bool) -> int:
        """Values one layer caches per token: the latent + rope slice, or (5.17) every head's expanded K and V."""
        if latent:
            return config.kv_lora_rank + config.qk_rope_head_dim
        return config.num_attention_heads * (config.qk_nope_head_dim + config.qk_rope_head_dim + config.v_head_dim)

    def cache_bytes(self, config, context, dtype_bytes=2):
        n = config.num_hidden_layers
        kv = n * self.kv_values_per_token(config, caches_latent()) * context * dtype_bytes
        indexer = n * config.index_head_dim * context * dtype_bytes  # the indexer's own single-head keys
        return {"full": kv, "indexer": indexer, "linear": 0, "total": kv + indexer}


@functools.lru_cache(maxsize=1)
def caches_latent() -> bool:
    """Whether this transformers caches MLA's compressed latent (newer) or the expanded K/V (5.17): measured once."""
    import torch
    from transformers import AutoModelForCausalLM, DynamicCache

    from hybrid_eval.models.cache import cache_kwarg

    family = DeepseekV32()
    p = Preset(hidden=32, layers=1, heads=2, head_dim=16)
    config = family.hf_config("sparse", p, vocab_size=8, intermediate=16, index_topk=2)
    with torch.random.fork_rng():
        model = AutoModelForCausalLM.from_config(config).eval()
        cache = DynamicCache(config=config)
        with torch.no_grad():
            model(input_ids=torch.tensor([[1, 2]]), use_cache=True, **{cache_kwarg(model): cache})
    return cache.layers[0].keys.shape[-1] == config.kv_lora_rank

