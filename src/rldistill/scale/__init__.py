"""Scale out on Ray (extra ``rldistill[ray]``): ``rldistill sweep`` and ``rldistill compress``.

- :mod:`.ray_session`: a local Ray on the loopback address, or the cluster at ``--address``;
  Ray's one-line import error naming the extra.
- :mod:`.ray_backend`: a list of distill configs run as Ray Tune trials: each trial is an
  ordinary :func:`rldistill.api.run` in its own directory, reports every round to Tune through
  the loop's callback, and, when its worker dies, is restarted by Tune and resumes from its own
  rldistill checkpoint.
- :mod:`.sweep`: the sweep file (a base config and a grid / random search space over any
  :class:`~rldistill.config.DistillConfig` option) and the sweep itself.
- :mod:`.table`: per configuration the mean and 95 % CI over seeds (rliable), as Markdown, CSV
  and a score-against-parameters plot.
- :mod:`.compress`: the smallest student that reaches a target score with 95 % confidence
  (bracket, then bisect over the hidden width).
- :mod:`.collectors`: ``--collectors N``, the loop's envs stepped by Ray actors.

Nothing here is imported by the core; Ray itself is imported only when a sweep, compress or
collectors run.
"""
