"""Datasets and non-IID partitioners (pure Python and numpy; no torch)."""

from fedlora.data.drugreview import DRUG_REVIEW_INSTRUCTION, load_drug_reviews
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
    "DRUG_REVIEW_INSTRUCTION",
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
    "load_drug_reviews",
    "load_icd10",
    "load_table",
    "partition",
]
