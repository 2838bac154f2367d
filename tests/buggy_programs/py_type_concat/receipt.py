def line(item, qty):
    return item + ": " + qty
