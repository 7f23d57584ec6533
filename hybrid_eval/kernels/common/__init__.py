"""Helpers shared by the ops' torch backends: the chunk layout and masks (``chunk.py``) and the delta rules'
chunk scan and one-token step (``delta_rule.py``). Op folders import these, never each other."""
