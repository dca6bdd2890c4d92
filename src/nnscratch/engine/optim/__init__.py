"""Optimizers (update rules equal to ``torch.optim``'s), learning-rate schedulers, and the flat
parameter groups that update many small parameters in one vectorised operation."""
