import json


def load_port(text):
    config = json.loads(text)
    return int(config["port"])


def parse_pairs(text):
    pairs = {}
    for line in text.splitlines():
        key, value = line.split("=")
        pairs[key.strip()] = value.strip()
    return pairs
