class User:
    def __init__(self, name):
        self.name = name


USERS = {1: User("ada")}


def find(user_id):
    return USERS.get(user_id)


def display_name(user_id):
    # Unknown users are shown as "guest".
    return find(user_id).name
