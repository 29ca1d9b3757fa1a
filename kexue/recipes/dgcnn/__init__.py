"""DGCNN reading-comprehension recipe."""
