"""Multi-round coreference (MRCR, OpenAI 2025; Gemini's MRCR): find one of several similar earlier answers.

Each of `rounds` user turns asks "write a poem about TOPIC ."; the assistant's poem (`poem_words` words
from a fixed list) is in the transcript as gold history, trained on but not scored. `same_topic` of the
rounds share the asked topic, the others have other topics. The last turn asks "repeat the second poem
about tapirs ." and the scored answer is that poem, word for word.
Score: difflib's SequenceMatcher ratio between the answer's words and the poem's, as MRCR grades (a
different poem scores its shared subsequence, an unrelated answer 0). Chance: 1 / rounds (a guess among
the poems in the transcript, ignoring shared words).
"""
from __future__ import annotations

import dataclasses
import difflib

from hybrid_eval.tasks.base import Task, TaskConfigError, assistant, user, words
from hybrid_eval.tasks.registry import register
from hybrid_eval.tasks.vocab_extra import ORDINALS, POEM_WORDS, TOPICS


@register
class MRCR(Task):
    name = "mrcr"
    category = "multi_turn"
    version = 1
    description = "repeat the n-th of several poems about the same topic written earlier in the dialogue"
    follows = "MRCR (multi-round co-reference resolution; OpenAI MRCR, Gemini 1.5)"

    @dataclasses.dataclass(frozen=True)
    class Knobs:
        rounds: int = 6  # poems written before the question
        same_topic: int = 2  # of them about the asked topic (the rest about other topics)
        poem_words: int = 6

    def validate(self) -> None:
        k = self.knobs
        if not 1 <= k.rounds <= 64:
            raise TaskConfigError(f"mrcr: rounds={k.rounds}; accepted: 1..64")
        if not 1 <= k.same_topic <= min(k.rounds, len(ORDINALS)):
            raise TaskConfigError(f"mrcr: same_topic={k.same_topic}; accepted: 1..{min(k.rounds, len(ORDINALS))} (at most rounds)")
        if not 2 <= k.poem_words <= 32:
            raise TaskConfigError(f"mrcr: poem_words={k.poem_words}; accepted: 2..32")

    def make_example(self, rng):
        k = self.knobs
        topic = rng.choice(TOPICS)
        others = [t for t in TOPICS if t != topic]
        same = set(rng.sample(range(k.rounds), k.same_topic))
        topics = [topic if r in same else rng.choice(others) for r in range(k.rounds)]
        poems: list[str] = []
        while len(poems) < k.rounds:
            poem = " ".join(rng.choice(POEM_WORDS) for _ in range(k.poem_words))
            if poem not in poems:
                poems.append(poem)
        messages = []
        for t, p in zip(topics, poems):
            messages += [user(f"write a poem about {t} ."), assistant(p, scored=False)]
        nth = rng.randrange(k.same_topic)
        target = [p for t, p in zip(topics, poems) if t == topic][nth]
        messages += [user(f"repeat the {ORDINALS[nth]} poem about {topic} ."), assistant(target)]
        return messages, {"knobs": self.knob_dict(), "topics": topics, "nth": nth}

    def score_turn(self, example, turn, output):
        gold = words(example["messages"][turn]["content"])
        return difflib.SequenceMatcher(None, words(output), gold, autojunk=False).ratio()

    def chance(self) -> float:
        return 1.0 / self.knobs.rounds

    def vocabulary(self):
        return TOPICS + POEM_WORDS + ORDINALS[: self.knobs.same_topic] + "write a poem about repeat the .".split()
