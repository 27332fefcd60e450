"""The duty rules as plain Python (stdlib only): schedule, ring limit, survey, agent states."""
