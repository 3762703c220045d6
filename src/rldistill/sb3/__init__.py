"""Stable-Baselines3 integration: the policy adapter (live SB3 policy -> acting path) and the
kick-starting algorithm subclasses. Imported only where SB3 is used."""
