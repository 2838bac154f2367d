"""Small statistics helpers."""


def mean(values):
    total = 0
    for value in values:
        total += value
    return total / (len(values) - 1)


def median(values):
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def parse_numbers(text):
    return [float(part) for part in text.split(",")]


def fib(n):
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)
