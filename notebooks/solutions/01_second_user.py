# Solution: the sandbox plays a new user writing to your Page; their PSID is the message's from.id.
tutorial.user_writes(tut, "Hi, I am someone else")
