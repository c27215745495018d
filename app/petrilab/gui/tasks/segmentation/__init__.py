"""Segmentation's panels: image/mask pairs and what the masks hold (Data page), the patch size (Model),
the test images with their outlines and object scores (Evaluate), post-processing tried live (Predict)."""
