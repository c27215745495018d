"""The annotation window (issue #17): File > Annotate images… asks what to annotate (start_dialog.py), then
opens the mask editor (segmentation_editor.py, drawing on canvas.py) or the class sorter (class_sorter.py).
Saving runs in a thread of its own (saver.py); the folder itself is petrilab.annotation.folder."""
