"""The annotation windows (issue #17): File > Annotate images… asks what to annotate (start_dialog.py), then
opens the mask editor (segmentation_editor.py, drawing on canvas.py) or the class sorter (class_sorter.py,
also for multi-label tags). Saving runs in a thread of its own (saver.py); hints.py holds the keyboard
hints, controls.py what both windows do with their controls; the folder itself is
petrilab.annotation.folder."""
