"""`make bench`: the engine's cost against raw SpiffWorkflow, HTTP throughput, queries at scale, memory."""
