def greet(name):
    message = "Hello, " + name
        return message
