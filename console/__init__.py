"""The duty console: the agent's seat, the call flow and the duty record."""
