"""The table tasks' panels (multi-label, regression): which columns the network learns (Data page) and the
pictures beside the Evaluate and Predict pages' tables."""
