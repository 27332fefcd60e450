"""The duty record: calls, amendments, agents, handovers; append-only and tamper-evident."""
