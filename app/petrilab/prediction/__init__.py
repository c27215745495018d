"""Running a trained model on images: loading a run's model and preprocessing, predicting folders."""
