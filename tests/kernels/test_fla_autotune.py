"""kernels.autotune (hybrid_eval/kernels/backends/fla_autotune.py): which of fla's Triton configurations `fast` keeps.
The choice is checked on fla's own configuration grids (rebuilt here as plain records, so it runs without Triton);
on a GPU with fla, every fla kernel loaded by a KDA call is trimmed, `full` restores fla's lists, and the trimmed
kernels give the same outputs as the untrimmed ones (tests/kernels/test_gated_delta.py checks them against torch)."""
from dataclasses import dataclass, field

import pytest
import torch

from hybrid_eval.kernels.backends import fla_autotune


@dataclass
class Config:  # the fields of triton.Config that the choice reads
    kwargs: dict = field(default_factory=dict)
    num_warps: int = 4
    num_stages: int = 2


def grid(blocks: dict, warps, stages):
    keys = list(blocks)
    out = [{}]
    for k in keys:
        out = [dict(o, **{k: v}) for o in out for v in blocks[k]]
    return [Config(kw, w, s) for kw in out for w in warps for s in stages]


def test_fast_keeps_a_middle_and_a_small_configuration_of_fla_s_largest_grid():
    # chunk_kda_bwd_kernel_wy_dqkg_fused on Hopper: BK, BV in {32, 64}, warps {2, 4}, stages {2, 3, 4} = 24 configs
    configs = grid({"BK": [32, 64], "BV": [32, 64]}, [2, 4], [2, 3, 4])
    kept = fla_autotune.choose(configs)
    assert [(c.kwargs["BK"], c.kwargs["BV"], c.num_warps, c.num_stages) for c in kept] == [(32, 32, 2, 2), (64, 64, 4, 2)]


def test_fast_without_block_sizes_picks_by_warps_and_stages():
    configs = grid({}, [1, 2, 4, 8], [2, 3, 4, 5])  # solve_tril's grid
    kept = fla_autotune.choose(configs)
    assert [(c.num_warps, c.num_stages) for c in kept] == [(2, 2), (4, 2)]


def test_short_lists_are_kept_whole_and_one_best_is_not_doubled():
    two = grid({}, [2, 4], [2])
    assert fla_autotune.choose(two) == two
    # (4 warps, 1 stage) is the nearest to both targets: kept once, the list shrinks to one
    three = [Config({}, 4, 1), Config({}, 8, 4), Config({}, 16, 4)]
    assert fla_autotune.choose(three) == [three[0]]


def test_unknown_mode_is_refused_in_one_line():
    with pytest.raises(ValueError, match=r"kernels.autotune='slow'; accepted: fast, full"):
        fla_autotune.set_mode("slow")


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_fast_trims_every_loaded_fla_kernel_and_full_restores_them():
    pytest.importorskip("fla")
    import sys

    from triton.runtime.autotuner import Autotuner

    from hybrid_eval.kernels.gated_delta import gated_delta_as_kda
    from tests.kernels.kernel_inputs import betas, generator, log_gates, qkv

    fla_autotune.set_mode("fast")
    gen = generator(3)
    q, k, v = (x.requires_grad_(True) for x in qkv(1, 128, 2, 2, 64, 64, gen, device="cuda", dtype=torch.bfloat16))
    g, beta = log_gates(1, 128, 2, gen=gen, device="cuda"), betas(1, 128, 2, gen=gen, device="cuda")
    gated_delta_as_kda(q, k, v, g, beta, 64 ** -0.5, None, False)[0].float().sum().backward()
    tuners = [t for name, m in list(sys.modules.items()) if name.startswith("fla.") and m is not None
              for value in vars(m).values() for t in fla_autotune.autotuners(value)]
    assert tuners and all(isinstance(t, Autotuner) for t in tuners)
    assert max(len(t.configs) for t in tuners) <= fla_autotune.KEEP
    fla_autotune.set_mode("full")
    fla_autotune.apply()
    assert max(len(t.configs) for t in tuners) > fla_autotune.KEEP
    fla_autotune.set_mode("fast")
    fla_autotune.apply()
