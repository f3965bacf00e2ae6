"""The exit codes the commands share."""

EXIT_REFUSED = 2
"""The command refused its input (a bad file, period, policy or option) and changed nothing
it says it would not; the message says why."""
