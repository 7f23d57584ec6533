"""DeepSeek-V3.2 family: MLA with every key (`dense`) vs DeepSeek Sparse Attention (`sparse`, top-k), and MLA over a
sliding window per layer (`S` in an F/S string), dense MLPs.

Follows transformers' `DeepseekV32ForCausalLM` (DeepSeek-AI, "DeepSeek-V3.2", 2025). transformers builds the
same layer everywhere: MLA (q LoRA, compressed KV latent, interleaved RoPE on a shared key slice) plus the DSA
"lightning indexer", which scores every past key and masks all but the `index_topk` best. So the variants
differ in one number, not in modules: `sparse` keeps `model.index_topk` keys per query; `dense` sets
`index_topk` to the longest context the model accepts, so the indexer never drops a key and the layer is
plain MLA (the indexer still runs and caches its keys, as in the released model). Parameter counts are equal.

Patterns are `dense` and `sparse` (not F/L strings), or a string of `F` (dense MLA) and `S` (the same layer over the
last `model.window` tokens, models/window.py) with at least one S, e.g. `SSSF`; `index_topk` is then the longest
context, as for `dense`, so an S layer's indexer keeps every key of its window. `layer_kinds` reports
"full_attention" (dense), "sparse_attention" or "sliding_attention" per layer. An S layer's cache is a
`window.SlidingIndexedLayer` (its indexer keys windowed too), `window.RingWindowIndexedLayer` on static caches. transformers' own layer-type name differs by version ("deepseek_sparse_attention"
in 5.17, "indexed_attention" later), so the config is built without `layer_types` and takes the default.

Caveat for probes: transformers runs the indexer under `torch.no_grad()` and has no indexer loss, so a sparse
probe trained from scratch selects keys with its randomly initialised indexer (DeepSeek trains it with a KL
loss towards the dense attention, after a dense warm-up).
"""
from __future__ import annotations

import functools

from transformers import AutoConfig
from transformers.models.deepseek_v32 import modeling_deepseek_v32 as deepseek_modeling

from hybrid_eval.models import window as swa
from hybrid_eval.models.family import Family, ModelConfigError, PRESETS, Preset, register

PATTERNS = {"dense": "full_attention", "sparse": "sparse_attention"}
LETTERS = {"F": "full_attention", "S": swa.SLIDING}  # a per-layer pattern: dense MLA or sliding-window MLA


@register
class DeepseekV32(Family):
    name = "deepseek_v32"
    model_type = "deepseek_v32"
    layer_names = PATTERNS
    released_pattern = "sparse"
    patterns = ("dense", "sparse", "SSSF")
    reference_pattern = "dense"
    knobs = {**Family.knobs, "index_topk": 64}
    modeling = "transformers.models.deepseek_v32.modeling_deepseek_v32"
    binding = {  # the indexer reads the mask: S layers get a materialised one
        "DeepseekV32Model.forward": swa.model_forward(deepseek_modeling.DeepseekV32Model.forward, materialize=True),
        "DeepseekV32Attention.forward": swa.attention_forward(deepseek_modeling.DeepseekV32Attention.forward),
    }
    presets = PRESETS
    max_context = 8192  # max_position_embeddings; `dense` uses it as index_topk

    @staticmethod
    def is_letters(pattern) -> bool:
        """An F/S string with at least one S (all-F is spelled `dense`)."""
        p = str(pattern)
        return bool(p) and set(p) <= set(LETTERS) and "S" in p

    def layer_types(self, pattern, n_layers):
        if self.is_letters(pattern):
            p = str(pattern)
            if len(p) > n_layers and len(set(p[:n_layers])) < len(set(p)):
                raise ModelConfigError(f"model.pattern={p!r} needs {len(p)} layers to contain each of its letters but "
                                       f"this {self.name} size has {n_layers}; accepted: at most {n_layers} letters")
            return [LETTERS[p[i % len(p)]] for i in range(n_layers)]
        if str(pattern) not in PATTERNS:
            raise ModelConfigError(
                f"model.pattern={pattern!r} is not valid for {self.name}; accepted: dense (MLA over every key), "
                f"sparse (DSA: each query keeps model.index_topk keys), or a string of F (dense) and S (sliding-window "
                f"MLA, model.window) with at least one S, e.g. SSSF"
            )
        return [PATTERNS[str(pattern)]] * n_layers

    def layer_kinds(self, config):
        dense = config.index_topk >= config.max_position_embeddings
        return swa.mark(config, [PATTERNS["dense" if dense else "sparse"]] * config.num_hidden_layers)

    def pattern_of(self, config):
        if swa.window_of(config) is not None:
            from hybrid_eval.models.family import shortest_period

            return shortest_period("".join("S" if k == swa.SLIDING else "F" for k in self.layer_kinds(config)))
        return super().pattern_of(config)

    def built_pattern(self, model):
        # every variant builds the same attention module; the indexer's top-k says dense or sparse, the config's
        # window_layers which layers are windowed
        if swa.window_of(model.config) is not None:
            windowed = set(swa.window_layers(model.config))
            return ["S" if i in windowed else "F" for i in range(len(model.model.layers))]
        dense = [layer.self_attn.indexer.index_topk >= model.config.max_position_embeddings
                 for layer in model.model.layers]
        return ["dense" if d else "sparse" for d in dense]

    def make_cache(self, config):
        cache = super().make_cache(config)
        for i in swa.window_layers(config):  # the indexer keys of an S layer are windowed with its K/V
            cache.layers[i] = swa.SlidingIndexedLayer(sliding_window=swa.window_of(config))
        return cache

    def static_window_layer(self, max_len, window):
        return swa.RingWindowIndexedLayer(max_cache_len=max_len, sliding_window=window)

    def normalize_config(self, config):
        # a checkpoint saved by another transformers version names the layer type differently; use this one's
        default = AutoConfig.for_model("deepseek_v32", num_hidden_layers=1).layer_types[0]
        config.layer_types = [default] * config.num_hidden_layers

    def check_knobs(self, **knobs):
        super().check_knobs(**knobs)
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
        types = self.layer_types(pattern, n)
        max_pos = extra.get("max_position_embeddings", self.max_context)
        dense = pattern == "dense" or self.is_letters(pattern)
        topk = max_pos if dense else int(extra.get("index_topk", self.knobs["index_topk"]))
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
            **swa.config_keys(types, extra.get("window", swa.DEFAULT_WINDOW)),
        )

    @staticmethod
    def kv_values_per_token(config, latent: bool) -> int:
        """Values one layer caches per token: the latent + rope slice, or (5.17) every head's expanded K and V."""
        if latent:
            return config.kv_lora_rank + config.qk_rope_head_dim
        return config.num_attention_heads * (config.qk_nope_head_dim + config.qk_rope_head_dim + config.v_head_dim)

    def cache_bytes(self, config, context, dtype_bytes=2):
        full, sliding = self.attention_counts(config, context, self.layer_kinds(config))  # token-slots per kind
        per_token = self.kv_values_per_token(config, caches_latent()) * dtype_bytes
        index_token = config.index_head_dim * dtype_bytes  # the indexer's own single-head keys, windowed in S layers
        return {"full": full * per_token, "indexer": full * index_token, "sliding": sliding * (per_token + index_token),
                "linear": 0, "total": (full + sliding) * (per_token + index_token)}


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

