"""Server-generated run names (`adjective-animal-NNN`), as the reference server gives runs without one."""

from __future__ import annotations

import secrets

_ADJECTIVES = (
    "abundant", "agreeable", "amazing", "ambitious", "auspicious", "awesome", "bald", "beautiful",
    "bedecked", "bemused", "blushing", "bold", "brawny", "bright", "burly", "capable", "carefree",
    "caring", "casual", "charming", "classy", "clean", "clever", "colorful", "crawling", "dapper",
    "debonair", "delicate", "dashing", "enchanting", "entertaining", "enthused", "exultant",
    "fearless", "flawless", "fortunate", "funny", "gaudy", "gentle", "gifted", "glamorous",
    "grandiose", "gregarious", "handsome", "hilarious", "honorable", "illustrious", "industrious",
    "intelligent", "judicious", "kindly", "legendary", "likeable", "loud", "luminous", "magnificent",
    "marvelous", "masked", "melodic", "merciful", "mercurial", "monumental", "mysterious",
    "nebulous", "nervous", "nimble", "nosy", "omniscient", "orderly", "overjoyed", "peaceful",
    "painted", "persistent", "placid", "polite", "popular", "powerful", "puzzled", "rambunctious",
    "rare", "rebellious", "respected", "resilient", "righteous", "receptive", "redolent", "resonant",
    "rogue", "rumbling", "salty", "sassy", "secretive", "selective", "sedate", "serious", "shivering",
    "skillful", "sincere", "skittish", "silent", "smiling", "sneaky", "sophisticated", "spiffy",
    "stately", "suave", "stylish", "tasteful", "thoughtful", "thundering", "traveling", "treasured",
    "trusting", "unequaled", "upbeat", "unique", "unleashed", "useful", "upset", "valuable",
    "vaunted", "victorious", "welcoming", "whimsical", "wistful", "wise", "worried", "youthful",
    "zealous",
)  # fmt: skip

_ANIMALS = (
    "ant", "ape", "asp", "auk", "bass", "bat", "bear", "bee", "bird", "boar", "bug", "calf", "carp",
    "cat", "chimp", "cod", "colt", "conch", "cow", "crab", "crane", "croc", "crow", "cub", "deer",
    "doe", "dog", "dolphin", "donkey", "dove", "duck", "eel", "elk", "fawn", "finch", "fish", "flea",
    "fly", "foal", "fowl", "fox", "frog", "gnat", "gnu", "goat", "goose", "grouse", "grub", "gull",
    "hare", "hawk", "hen", "hog", "horse", "hound", "jay", "kit", "kite", "koi", "lamb", "lark",
    "loon", "lynx", "mare", "midge", "mink", "mole", "moose", "moth", "mouse", "mule", "newt", "owl",
    "ox", "panda", "penguin", "perch", "pig", "pug", "quail", "ram", "rat", "ray", "robin", "roo",
    "rook", "seal", "shad", "shark", "sheep", "shoat", "shrew", "shrike", "shrimp", "skink", "skunk",
    "sloth", "slug", "smelt", "snail", "snake", "snipe", "sow", "sponge", "squid", "squirrel",
    "stag", "steed", "stoat", "stork", "swan", "tern", "toad", "trout", "turtle", "vole", "wasp",
    "whale", "wolf", "worm", "wren", "yak", "zebra",
)  # fmt: skip


def generate_run_name() -> str:
    return f"{secrets.choice(_ADJECTIVES)}-{secrets.choice(_ANIMALS)}-{secrets.randbelow(1000)}"
