"""What a user sees besides results: bad input (one line, exit 2), an interrupted run (exit
130), and notices (one line on stderr: the run goes on)."""

import sys


class UserError(Exception):
    """Bad input from the user (file, env, option). The message names the problem and the fix."""


class Interrupted(Exception):
    """SIGINT arrived; the run's checkpoint (or its saved student) says where it stopped."""


def notice(text: str) -> None:
    """One line on stderr about what the run does, e.g. starting where --resume found nothing."""
    print(f"rldistill: {text}", file=sys.stderr)
