"""The closed vocabulary that task templates draw from: names, objects, places, numbers.

Every task builds its text from these lists plus a few fixed template words, so the same example serves a
word-level probe tokenizer and a pretrained model's own tokenizer.
"""

NAMES = (
    "ann bob carl dana eve fred gina hank iris jack kate leo mia ned olga paul "
    "quinn rosa sam tina uma vic wendy xena yuri zoe adam beth cole dora emil faye"
).split()

OBJECTS = (
    "apple anchor arrow badge basket bell blanket boat bottle bowl box brick broom brush bucket button "
    "cable camera candle card carpet chair chalk clock coin comb cup curtain desk dice door drum "
    "fan feather flag flute fork frame glove glass hammer harp hat helmet horn jar kettle key "
    "kite ladder lamp leaf lens lock map mask mirror mug nail needle net oar pan pen pencil pillow"
).split()

CITIES = (
    "paris rome oslo lima cairo delhi tokyo quito sofia dublin vienna prague madrid lisbon athens berlin"
).split()

COLORS = "red blue green yellow black white orange purple pink brown gray silver gold cyan violet teal".split()


def numbers(n: int) -> list[str]:
    """The numbers 0 .. n-1 as words (digit strings)."""
    return [str(i) for i in range(n)]
