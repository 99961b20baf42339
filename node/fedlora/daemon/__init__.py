"""The node daemon: the round coordinator that drives one node through a session."""
