"""The desktop app. Imports Qt; never imports TensorFlow or Keras (they run in child processes)."""
