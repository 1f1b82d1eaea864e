# Solution: the sandbox plays a new user writing to your Page; in its answer, from.id is their PSID.
tut.sandbox.inbound("messenger", text="Hi, I am someone else")
