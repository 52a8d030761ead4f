"""Agents of the project, each in its own folder, on the shared actor-learner core (`agents.core`)."""
