"""This skill's actions: the NemoVideo backend client and the conversation handlers."""
