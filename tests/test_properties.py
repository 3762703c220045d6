"""Property-based tests (hypothesis) of the losses and the buffer."""

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from rldistill.heads import losses
from rldistill.engine.buffer import Buffer

@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-8, 8), min_size=3, max_size=3),
       st.lists(st.floats(-8, 8), min_size=3, max_size=3), st.floats(0.05, 20))
def test_kl_nonnegative_and_zero_iff_same_distribution(s, t, tau):
    zs = torch.tensor([s], dtype=torch.float64)
    zt = torch.tensor([t], dtype=torch.float64)
    loss = losses.kl(zs, zt, temperature=tau)[0].item()
    assert loss >= -1e-12
    assert abs(losses.kl(zt + 3.0, zt, temperature=tau)[0].item()) < 1e-9  # shift-invariant
    p = torch.softmax(zt / tau, -1)
    q = torch.softmax(zs / tau, -1)
    if (p - q).abs().max() > 1e-3:
        assert loss > 0


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(-2, 2), min_size=4, max_size=4),
       st.lists(st.floats(-2, 2), min_size=4, max_size=4), st.floats(1, 10))
def test_t_squared_scaling_of_the_gradient(s, t, tau):
    """d/dz_s [T^2 KL_T] = T (q_T - p_T): the T^2 factor cancels the 1/T of the tempered softmax."""
    zs = torch.tensor([s], dtype=torch.float64, requires_grad=True)
    zt = torch.tensor([t], dtype=torch.float64)
    losses.kl(zs, zt, temperature=tau)[0].backward()
    expected = tau * (torch.softmax(zs.detach() / tau, -1) - torch.softmax(zt / tau, -1))
    assert torch.allclose(zs.grad, expected, atol=1e-9)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 12), st.lists(st.integers(1, 7), min_size=1, max_size=10))
def test_buffer_keeps_the_last_capacity_rows(capacity, batch_sizes):
    buf = Buffer(capacity, (1,), torch.float32, (1,))
    counter = 0
    for n in batch_sizes:
        rows = torch.arange(counter, counter + n, dtype=torch.float32).reshape(n, 1)
        buf.add(rows, rows)
        counter += n
    assert buf.size == min(counter, capacity)
    kept = sorted(buf.obs[: buf.size, 0].tolist())
    assert kept == list(map(float, range(counter - buf.size, counter)))
    assert torch.equal(buf.obs[: buf.size], buf.targets[: buf.size])
    seen = torch.cat([x for x, _ in buf.epoch_batches(3, torch.Generator().manual_seed(0))])
    assert sorted(seen[:, 0].tolist()) == kept
