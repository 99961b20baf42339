"""Datasets and non-IID partitioners (pure Python and numpy; no torch)."""

from fedlora.data.icd10 import ICD10_INSTRUCTION, load_icd10
from fedlora.data.partition import partition
from fedlora.data.table import DEFAULT_INSTRUCTION, load_table
from fedlora.data.types import (
    MAX_LABELS,
    PARTITION_KINDS,
    TEST_DRAWS,
    ClientData,
    DataError,
    Example,
    FederatedData,
    LabeledCorpus,
    PartitionSpec,
    answer_token,
    answer_tokens,
)

__all__ = [
    "DEFAULT_INSTRUCTION",
    "ICD10_INSTRUCTION",
    "MAX_LABELS",
    "PARTITION_KINDS",
    "TEST_DRAWS",
    "ClientData",
    "DataError",
    "Example",
    "FederatedData",
    "LabeledCorpus",
    "PartitionSpec",
    "answer_token",
    "answer_tokens",
    "load_icd10",
    "load_table",
    "partition",
]
