def squares(values):
    out = []
    for i in range(len(values) + 1):
        out.append(values[i] ** 2)
    return out
