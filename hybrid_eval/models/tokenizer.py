"""Word-level probe tokenizer (`tokenizers`) over a suite's closed vocabulary, with chat special tokens.

Text is lower-cased and split into words and single punctuation marks, the same split as
`tasks.base.words`, so every word a task can produce is one token. A chat template renders
`<|role|> content <|end|>` per message and `<|assistant|>` as the generation prompt. Saved beside the
checkpoint as `tokenizer.json` + `tokenizer_config.json`, so `AutoTokenizer.from_pretrained(dir)` reloads it.
"""
from __future__ import annotations

from collections.abc import Iterable

from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers
from transformers import PreTrainedTokenizerFast

PAD, UNK, END = "<|pad|>", "<|unk|>", "<|end|>"
ROLES = ("system", "user", "assistant", "tool")
ROLE_TOKENS = {r: f"<|{r}|>" for r in ROLES}
SPECIAL_TOKENS = [PAD, UNK, END, *ROLE_TOKENS.values()]

CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|> {{ m['content'] }} <|end|> {% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)

_SPLIT = Regex(r"\w+|[^\w\s]")


def build_probe_tokenizer(words: Iterable[str]) -> PreTrainedTokenizerFast:
    """A word-level tokenizer whose vocabulary is the special tokens plus `words` (sorted, deduplicated)."""
    vocab = {tok: i for i, tok in enumerate(SPECIAL_TOKENS)}
    for w in sorted({w.lower() for w in words} - set(vocab)):
        vocab[w] = len(vocab)
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token=UNK))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Split(_SPLIT, behavior="isolated")]
    )
    tok.decoder = decoders.WordPiece(prefix="##", cleanup=False)  # joins words with single spaces
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        pad_token=PAD,
        unk_token=UNK,
        eos_token=END,
        additional_special_tokens=list(ROLE_TOKENS.values()),
        chat_template=CHAT_TEMPLATE,
        clean_up_tokenization_spaces=False,
        model_max_length=1 << 20,
        padding_side="left",
    )
    return fast


def chat_ids(tokenizer, messages: list[dict], add_generation_prompt: bool = False) -> list[int]:
    """Token ids of `messages` rendered with the tokenizer's own chat template (any HF tokenizer)."""
    out = tokenizer.apply_chat_template(messages, tokenize=True, add_generation_prompt=add_generation_prompt)
    if hasattr(out, "keys"):  # transformers 5 returns a BatchEncoding
        out = out["input_ids"]
    return list(out)


def encode_chats(tokenizer: PreTrainedTokenizerFast, transcripts: list[list[dict]]) -> list[tuple[list[int], list[bool]]]:
    """For each probe transcript: its token ids and a mask of the tokens to train on (assistant content + <|end|>).

    Equals `tokenizer.apply_chat_template(messages, tokenize=True)` (tests check it), built piece by piece, all
    message bodies encoded in one batch, so the assistant spans are known without re-rendering every prefix.
    """
    end = tokenizer.convert_tokens_to_ids(END)
    role_ids = {r: tokenizer.convert_tokens_to_ids(t) for r, t in ROLE_TOKENS.items()}
    bodies = iter(tokenizer([m["content"] for msgs in transcripts for m in msgs], add_special_tokens=False)["input_ids"])
    out = []
    for messages in transcripts:
        ids: list[int] = []
        mask: list[bool] = []
        for m in messages:
            body = next(bodies) + [end]
            ids.append(role_ids[m["role"]])
            mask.append(False)
            ids += body
            mask += [m["role"] == "assistant"] * len(body)
        out.append((ids, mask))
    return out
