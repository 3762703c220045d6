"""Scale out on Ray (extra ``rldistill[ray]``): ``rldistill sweep`` and ``rldistill compress``.

- :mod:`.trials`: a list of distill configs run as Ray Tune trials: each trial is an ordinary
  :func:`rldistill.drivers.distill.run` in its own directory, reports every round to Tune
  through the loop's callback, and, when its worker dies, is restarted by Tune and resumes from
  its own rldistill checkpoint.
- :mod:`.sweep`: the sweep file (a base config and a grid / random search space over any
  :class:`~rldistill.core.config.DistillConfig` option) and the sweep itself.
- :mod:`.table`: per configuration the mean and 95 % CI over seeds (rliable), as Markdown, CSV
  and a score-against-parameters plot.
- :mod:`.compress`: the smallest student that reaches a target score with 95 % confidence
  (bracket, then bisect over the hidden width).

The Ray session (a local Ray on the loopback address, or the cluster at ``--address``) is
:mod:`rldistill.core.ray`; ``--collectors N`` (the loop's envs stepped by Ray actors) is
:mod:`rldistill.envs.remote`. Ray itself is imported only when a sweep, compress or collectors
run.
"""
