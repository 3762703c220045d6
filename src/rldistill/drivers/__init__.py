"""Drivers: thin loops of rounds over the engine's :class:`~rldistill.engine.loop.Loop`.

offline.py: rounds, a checkpoint after each, SIGINT (``rldistill distill``); online.py: one
round whenever an SB3 teacher that is still learning has taken enough steps
(``--teacher-train``); kickstart.py: SB3 PPO/DQN students with a distillation term.
"""
