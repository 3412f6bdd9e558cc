"""One module per workflow step: lighting, capture, label, train, threshold, station."""
