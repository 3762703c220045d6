"""Recurrent students' memory: a GRU or LSTM cell between the student's encoder and its output
layer (``--student-arch gru:64``), its state carried per env while acting and reset at episode
starts, and trained on sequences from the buffer: truncated backpropagation through time over
``bptt`` steps after a ``burn_in`` that warms the state up without gradient (R2D2, Kapturowski
et al. 2019). A state is one tensor per env: the GRU's h, or the LSTM's h and c side by side.
"""

from __future__ import annotations

import torch
from torch import nn

CELLS = {"gru": 3, "lstm": 4}  # gates per unit (--student-arch's text: core.options.parse_arch)


def cell_params(kind: str, inputs: int, units: int) -> int:
    """Parameters of torch's GRUCell / LSTMCell (two bias vectors per gate)."""
    return CELLS[kind] * (inputs * units + units * units + 2 * units)


class Cell(nn.Module):
    """One step of a GRU or LSTM cell on a (N, S) state tensor."""

    def __init__(self, kind: str, inputs: int, units: int) -> None:
        super().__init__()
        self.kind, self.units = kind, units
        self.cell = nn.GRUCell(inputs, units) if kind == "gru" else nn.LSTMCell(inputs, units)

    @property
    def state_size(self) -> int:
        return self.units * (2 if self.kind == "lstm" else 1)

    def forward(self, x: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(outputs h, new state) for inputs ``x`` (N, F) and ``state`` (N, state_size)."""
        if self.kind == "gru":
            h = self.cell(x, state)
            return h, h
        h, c = self.cell(x, (state[:, :self.units], state[:, self.units:]))
        return h, torch.cat([h, c], 1)


def unroll(cell: Cell, x: torch.Tensor, resets: torch.Tensor, burn_in: int) -> torch.Tensor:
    """The cell over ``x`` (T, N, F) from a zero state, which is zeroed again where ``resets``
    (T, N) is set (an episode's first step, or a gap in the stored steps); the outputs of steps
    ``burn_in``.. (T - burn_in, N, units), the burn-in without gradient."""
    state = x.new_zeros(x.shape[1], cell.state_size)
    keep = (~resets).unsqueeze(-1).to(x.dtype)
    outs = []
    with torch.no_grad():
        for t in range(burn_in):
            state = cell(x[t], state * keep[t])[1]
    for t in range(burn_in, x.shape[0]):
        h, state = cell(x[t], state * keep[t])
        outs.append(h)
    return torch.stack(outs)


def sequence_windows(env: torch.Tensor, cut: torch.Tensor, length: int, burn_in: int,
                     gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """One pass of training windows over rows stored in order of arrival: each env's rows in
    time order, laid end to end (a stream), cut into ``length`` steps from a random offset, each
    with the ``burn_in`` steps before it, in random order. Returns row indices (W, burn_in +
    length) and resets (W, burn_in + length): where a window's state must start from zero (an
    episode start or gap, ``cut``; an env's first row; before the stream's start)."""
    order = torch.argsort(env, stable=True)  # per env, in time order
    stream_cut = cut[order].clone()
    stream_cut[1:] |= env[order][1:] != env[order][:-1]
    stream_cut[0] = True
    m = len(order)
    length = min(length, m)
    offset = int(torch.randint(0, length, (1,), generator=gen))
    starts = torch.arange(offset, m - length + 1, length)
    if offset > 0 or len(starts) == 0:  # the first steps too, in a window of their own
        starts = torch.cat([torch.zeros(1, dtype=torch.long), starts])
    starts = starts[torch.randperm(len(starts), generator=gen)]
    pos = starts[:, None] - burn_in + torch.arange(burn_in + length)
    before = pos < 0
    pos = pos.clamp(min=0)
    return order[pos], stream_cut[pos] | before
