"""Segmentation's panels: image/mask pairs and what the masks hold (Data page), the patch size (Model),
the test images with their outlines and object scores (Evaluate), post-processing tried live (Predict)."""

from petrilab.gui.tasks import Panels

PANELS = Panels(examples="gallery:SegmentationGallery", summary_words="summary",
                patch_control="patch_control:PatchSizeControl", test_images="results:TestImageBrowser",
                object_scores="results:ObjectScores", preview="predict_preview:PreviewSection",
                preview_options="postprocess_preview:overrides", stacks="stack_patch_control",
                stack_runs="stack_pairs", predicted_stacks="predicted_stacks")
