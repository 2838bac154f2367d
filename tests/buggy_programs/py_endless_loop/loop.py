def spin(n):
    i = 0
    while i < n:
        n += 1
        i += 1
    return i
