import colections


def most_common(words):
    return colections.Counter(words).most_common(1)[0][0]
