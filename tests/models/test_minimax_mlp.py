"""MiniMax probes' one-expert MoE block runs as the SwiGLU MLP it equals (hybrid_eval/models/minimax.py, one_expert):
the same logits and the same gradient for every weight that has one as transformers' expert dispatch; the router's
gradient is exactly 0 there (softmax over one expert) and absent here; a block of two experts keeps transformers'
forward."""
import pytest
import torch
from transformers import AutoModelForCausalLM
from transformers.models.minimax import modeling_minimax

from hybrid_eval.models import get_family
from tests.models.families import tiny


def loss_and_grads(model, ids):
    model.zero_grad(set_to_none=True)
    out = model(input_ids=ids, labels=ids)
    out.loss.backward()
    return out.logits.detach(), {n: p.grad for n, p in model.named_parameters()}


@pytest.mark.parametrize("pattern", ["F", "LLLLLLLF"])
def test_the_one_expert_block_is_its_mlp_in_values_and_gradients(pattern):
    model = tiny("minimax", pattern).train()
    ids = torch.randint(3, 64, (2, 12), generator=torch.Generator().manual_seed(0))
    ours, ours_grads = loss_and_grads(model, ids)
    block = modeling_minimax.MiniMaxSparseMoeBlock
    bound = block.forward
    try:
        block.forward = bound.original  # transformers' dispatch: router, sort, gather, grouped products, scatter
        theirs, their_grads = loss_and_grads(model, ids)
    finally:
        block.forward = bound
    torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-5)
    for name, g in their_grads.items():
        if name.endswith("mlp.gate.weight"):
            assert ours_grads[name] is None and (g is None or not g.any()), name
        else:
            torch.testing.assert_close(ours_grads[name], g, rtol=0, atol=1e-6 * float(g.abs().max()) + 1e-9, msg=name)


def test_a_block_of_two_experts_keeps_transformers_forward():
    config, _ = get_family("minimax").matched_config("F", "tiny", 64, pad_token_id=0)
    config.num_local_experts, config.num_experts_per_tok = 2, 1
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config).eval()
    ids = torch.randint(3, 64, (2, 12), generator=torch.Generator().manual_seed(0))
    block = modeling_minimax.MiniMaxSparseMoeBlock
    bound = block.forward
    with torch.no_grad():
        ours = model(input_ids=ids).logits
        block.forward = bound.original
        try:
            theirs = model(input_ids=ids).logits
            mlp = model.model.layers[0].mlp  # the router sends tokens to both experts: expert 0 alone would differ
            assert set(mlp.gate(model.model.embed_tokens(ids).flatten(0, 1))[2].flatten().tolist()) == {0, 1}
        finally:
            block.forward = bound
    torch.testing.assert_close(ours, theirs, rtol=0, atol=0)
