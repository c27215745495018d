"""Reading images, finding a dataset in a folder, checking it, splitting it, feeding batches.

Everything here except `batches` is free of Keras, so the GUI can discover
and check a dataset without loading TensorFlow. Import the modules directly
(`from petrilab.data.discovery import discover`); this package imports none
of them, so importing one never pulls in Keras.
"""
