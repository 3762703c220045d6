"""The exceptions a user sees: bad input (one line, exit 2) and an interrupted run (exit 130)."""


class UserError(Exception):
    """Bad input from the user (file, env, option). The message names the problem and the fix."""


class Interrupted(Exception):
    """SIGINT arrived; the run's checkpoint (or its saved student) says where it stopped."""
