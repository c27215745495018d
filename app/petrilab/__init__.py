"""PetriLab: build deep-learning models for microscopy images without writing code."""

__version__ = "0.1.0"

# Version of the settings-file format. A file written by a newer PetriLab
# carries a larger number and is refused with a plain message. 2: a run's
# learnt values under [learnt] (1, PetriLab 0.1.0: in their sections; still read).
SETTINGS_FORMAT = 2
