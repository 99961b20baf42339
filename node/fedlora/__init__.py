"""fedlora: federated LoRA fine-tuning across hospitals, coordinated by a Fabric chaincode."""

__version__ = "0.1.0"
