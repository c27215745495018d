"""Labels made inside PetriLab (issue #17): the annotation folder and the classical first proposal.

`folder.py` keeps an annotation folder in a layout PetriLab trains on (images/ + masks/ for
segmentation, one sub-folder per class for classification) with `annotation.json` beside it;
`proposal.py` gives a starting mask before any model exists (Otsu, then a watershed for objects).
No Qt here: the editor lives in `petrilab.gui.annotation`.
"""
