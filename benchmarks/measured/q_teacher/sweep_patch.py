# The loop's _update (distill._update as of commit 23cf550, without its epochs term, which
# the floor outweighs at 10k) with optional LR schedules, for sweep.py (not used by the package).
import math, os, torch
import rldistill.distill as D
from rldistill.heads.losses import Loss, default_temperature
SCHED = os.environ.get("SCHED")   # unset: the loop's own _update; const | cos | cosround | lastdecay | late
def _update(loop, cfg, n_rounds):
    loss_fns = [Loss(cfg.loss, cfg.temperature or default_temperature(t.teacher.kind),
                     t.teacher.kind, cfg.centred) for t in loop.tasks]
    largest = max(t.buf.size for t in loop.tasks)
    floor = cfg.updates_floor(True)
    per = math.ceil(floor / n_rounds)
    total = per * n_rounds
    if SCHED == "late":   # updates proportional to round index
        n_updates = math.ceil(floor * (loop.round + 1) / (n_rounds * (n_rounds + 1) / 2))
    else:
        n_updates = per
    batches = [D._endless_batches(t.buf, cfg.batch, loop.gen, fn.prepare(t.buf.targets[: t.buf.size]))
               for t, fn in zip(loop.tasks, loss_fns)]
    loop.student.train()
    for k in range(n_updates):
        if SCHED == "cos":
            f = 0.5 * (1 + math.cos(math.pi * (loop.updates + k) / total))
        elif SCHED == "cosround":
            f = 0.5 * (1 + math.cos(math.pi * k / n_updates))
        elif SCHED == "lastdecay":
            f = 1.0 if loop.round < n_rounds - 1 else 0.5 * (1 + math.cos(math.pi * k / n_updates))
        else:
            f = 1.0
        for g in loop.opt.param_groups:
            g["lr"] = cfg.lr * f
        task_losses = [loss_fns[i](loop.student(x, i), y) for i, (x, y) in enumerate(next(b) for b in batches)]
        loss = sum(task_losses[1:], task_losses[0])
        loop.opt.zero_grad(set_to_none=True); loss.backward(); loop.opt.step()
    loop.losses.append(float(loss.detach()))
    loop.updates += n_updates
    loop.student.eval()
if SCHED:
    D._update = _update
