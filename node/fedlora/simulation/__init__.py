"""In-process federated experiments with the same training, aggregation and evaluation as a node."""
