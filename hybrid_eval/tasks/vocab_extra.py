"""More closed word lists for the task catalog: poem topics and words, ordinals, days, variable names,
file names and event titles for the tool environment.

Like tasks/vocab.py, every entry is one word as `tasks.base.words` splits text (letters, digits, `_`).
"""

TOPICS = (
    "tapirs otters herons foxes owls whales bees moles crows deer wolves seals hares frogs moths swans "
    "bears lynxes geese eels"
).split()

POEM_WORDS = (
    "soft quiet bright cold warm slow deep old wild still pale dark green silver "
    "rain snow wind moon sun river stone leaf night dawn sea hill cloud field "
    "sings falls sleeps drifts glows waits turns hums"
).split()

ORDINALS = "first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth".split()

DAYS = "monday tuesday wednesday thursday friday saturday sunday".split()

VARIABLES = [f"x{i}" for i in range(64)]  # variable names for variable tracking: x0 .. x63

FILE_NAMES = "notes todo plan draft memo report budget recipe diary letter agenda summary".split()

EVENT_TITLES = "lunch meeting gym dentist party dinner class call trip concert review interview".split()
