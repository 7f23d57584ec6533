"""The word-level probe tokenizer: chat template, training masks, save/reload with AutoTokenizer."""
from transformers import AutoTokenizer

from hybrid_eval.models.tokenizer import build_probe_tokenizer, chat_ids, encode_chats

MESSAGES = [
    {"role": "user", "content": "ann lives in paris ."},
    {"role": "assistant", "content": "ok"},
    {"role": "user", "content": "where does ann live ?"},
    {"role": "assistant", "content": "paris"},
]
WORDS = "ann lives in paris . ok where does live ?".split()


def test_pieces_equal_chat_template_and_mask_assistant_spans(tmp_path):
    tok = build_probe_tokenizer(WORDS)
    (ids, mask), = encode_chats(tok, [MESSAGES])
    assert ids == chat_ids(tok, MESSAGES)
    trained = [tok.convert_ids_to_tokens(i) for i, m in zip(ids, mask) if m]
    assert trained == ["ok", "<|end|>", "paris", "<|end|>"]
    prompt = chat_ids(tok, MESSAGES[:3], add_generation_prompt=True)
    assert prompt == ids[: len(prompt)] and tok.convert_ids_to_tokens(prompt[-1]) == "<|assistant|>"


def test_every_word_is_one_token_and_roundtrip(tmp_path):
    tok = build_probe_tokenizer(WORDS)
    assert tok.unk_token_id not in tok.encode("Where does ANN live ?", add_special_tokens=False)
    assert len(tok.encode("where does ann live ?", add_special_tokens=False)) == 5
    tok.save_pretrained(tmp_path)
    again = AutoTokenizer.from_pretrained(tmp_path)
    assert chat_ids(again, MESSAGES) == chat_ids(tok, MESSAGES)
    assert again.decode(again.encode("where does ann live ?", add_special_tokens=False)) == "where does ann live ?"
