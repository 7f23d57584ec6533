"""Greedy decoding: batched with left padding (greedy.py), static caches and CUDA graphs (static_cache.py,
static_decode.py), multi-turn conversations that extend one cache (conversation.py)."""
