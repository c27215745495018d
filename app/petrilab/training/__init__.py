"""Training: the trainer (fit, callbacks, events) and the diagnosis of the training curves."""
