"""Linear-attention ops (lightning, gated delta rule, KDA, short conv) with reference / torch / fla backends."""
