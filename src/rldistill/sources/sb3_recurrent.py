"""sb3-contrib's RecurrentPPO (``MlpLstmPolicy``, Discrete or Box actions), read from its
weights: the features, the actor's LSTM (``lstm_actor.*``), the policy MLP and ``action_net``
(with ``log_std``: a Gaussian for Box actions). Its state (the
LSTM's h and c, one row per env) is carried by whoever acts or labels with it
(:class:`rldistill.sources.base.NetTeacher` ``step``): collection, evaluation and checkpoints;
zeroed at an episode's start, as RecurrentPPO's ``episode_starts`` do.
"""

from __future__ import annotations

import re

import torch
from torch import nn

from rldistill.core.errors import UserError


class LstmPolicy(nn.Module):
    """features -> LSTM -> policy MLP -> action_net; ``forward`` is a first step (zero state)."""

    def __init__(self, lstm: nn.LSTM, body: nn.Module, head: nn.Module) -> None:
        super().__init__()
        self.lstm, self.body, self.head = lstm, body, head
        self.state_size = 2 * lstm.num_layers * lstm.hidden_size

    def step(self, x: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Outputs and the next state for features ``x`` and state rows [h, c] (layers first)."""
        n, layers, hidden = len(x), self.lstm.num_layers, self.lstm.hidden_size
        hc = state.reshape(n, 2, layers, hidden).permute(1, 2, 0, 3).contiguous()
        out, (h, c) = self.lstm(x.unsqueeze(0), (hc[0], hc[1]))
        nxt = torch.stack([h, c]).permute(2, 0, 1, 3).reshape(n, self.state_size)
        return self.head(self.body(out[0])), nxt

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.step(x, torch.zeros(len(x), self.state_size))[0]


def lstm_policy(state: dict[str, torch.Tensor], body: nn.Module, head: nn.Module,
                path: object) -> LstmPolicy:
    """The actor's LSTM (``lstm_actor.weight_ih_l{i}`` ...) in front of ``body`` and ``head``."""
    layers = sorted({int(m[1]) for k in state
                     if (m := re.fullmatch(r"lstm_actor\.weight_ih_l(\d+)", k))})
    if not layers:
        raise UserError(f"teacher {path}: a RecurrentPPO without its actor's LSTM weights")
    w = state["lstm_actor.weight_ih_l0"]
    lstm = nn.LSTM(int(w.shape[1]), int(w.shape[0]) // 4, num_layers=len(layers))
    lstm.load_state_dict({k[len("lstm_actor."):]: v for k, v in state.items()
                          if k.startswith("lstm_actor.")})
    return LstmPolicy(lstm, body, head)
