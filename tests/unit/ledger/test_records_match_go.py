"""The Python records and the contract's Go structs declare the same JSON, field for field.

The Go structs (``chaincode/contract/*.go``, ``json:"..."`` tags) are the source of truth; each
one the contract answers with or takes as an argument has one class in
:mod:`fedlora.ledger.records`. Adding a field is a change to the Go struct and to that class,
and this test fails until both are made: same JSON names, compatible kinds of value, and Go's
``omitempty`` matched by a default that msgspec leaves out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import msgspec
import msgspec.inspect as mi
import pytest

from fedlora.ledger import records

CONTRACT = Path(__file__).resolve().parents[3] / "chaincode" / "contract"

# Go struct -> Python record. Names differ where the Go name would mislead in Python:
# peft has its own LoraConfig, "Input" alone says nothing, the argument of ProposeAggregate is a
# draft of the Proposal the chain records, and an Event here is a chaincode event's payload.
MIRRORED: dict[str, type[msgspec.Struct]] = {
    "Node": records.Node,
    "Deadlines": records.Deadlines,
    "LoraConfig": records.LoraSpec,
    "Rule": records.Rule,
    "Privacy": records.Privacy,
    "SessionSpec": records.SessionSpec,
    "Session": records.Session,
    "Update": records.Update,
    "Input": records.AggregateInput,
    "ProposalInput": records.ProposalDraft,
    "Proposal": records.Proposal,
    "RejectedProposal": records.RejectedProposal,
    "Endorsement": records.Endorsement,
    "Round": records.Round,
    "Lineage": records.Lineage,
    "HistoryEntry": records.HistoryEntry,
    "Trail": records.Trail,
    "Event": records.LedgerEvent,
    "Page": records.Page,
}
# Go structs that are ledger state only: no transaction answers with them or takes them.
NOT_MIRRORED = {
    "AdapterRecord": "the per-session adapter index; AdapterLineage answers a Lineage",
    "storedRejection": "the key a rejected proposal is kept under; rounds answer it inline",
    "storedUpdate": "the key one node's update is kept under; rounds answer it inline",
    "storedVerdict": "the key one verdict is kept under; rounds answer it inline",
}

_STRUCT = re.compile(r"^type (\w+)(?:\[[^\]]*\])? struct \{\n(.*?)^\}", re.M | re.S)
_TAGGED = re.compile(r'^\s*\w+\s+(\S+)\s+`json:"([^"]+)"`', re.M)
_EMBEDDED = re.compile(r"^\s*([A-Z]\w*)\s*$", re.M)


@dataclass(frozen=True)
class GoField:
    go_type: str
    omitempty: bool


def go_structs() -> dict[str, dict[str, GoField]]:
    """JSON name -> field of every tagged struct in the contract's non-test Go files."""
    bodies: dict[str, str] = {}
    for path in sorted(CONTRACT.glob("*.go")):
        if not path.name.endswith("_test.go"):
            bodies |= {m[1]: m[2] for m in _STRUCT.finditer(path.read_text())}
    structs: dict[str, dict[str, GoField]] = {}

    def fields_of(name: str) -> dict[str, GoField]:
        if name not in structs:
            body = bodies[name]
            fields = {}
            for embedded in _EMBEDDED.findall(body):  # Go promotes an embedded struct's fields
                fields |= fields_of(embedded)
            for go_type, tag in _TAGGED.findall(body):
                json_name, *options = tag.split(",")
                fields[json_name] = GoField(go_type, "omitempty" in options)
            structs[name] = fields
        return structs[name]

    for name, body in bodies.items():
        if "json:" in body:
            fields_of(name)
    return structs


GO = go_structs()


def python_fields(cls: type[msgspec.Struct]) -> dict[str, msgspec.structs.FieldInfo]:
    return {field.encode_name: field for field in msgspec.structs.fields(cls)}


def test_every_go_struct_is_mirrored_or_known_to_be_state_only() -> None:
    assert len(GO) >= 18  # the parser found the contract's structs
    unclassified = set(GO) - set(MIRRORED) - set(NOT_MIRRORED)
    assert not unclassified, f"add a record to fedlora.ledger.records for {sorted(unclassified)}"
    assert not (set(MIRRORED) | set(NOT_MIRRORED)) - set(GO), "a struct left the contract"


@pytest.mark.parametrize("go_name", sorted(MIRRORED))
def test_the_record_has_exactly_the_go_structs_json_names(go_name: str) -> None:
    go_names, py_names = set(GO[go_name]), set(python_fields(MIRRORED[go_name]))
    assert go_names - py_names == set(), f"missing in Python {MIRRORED[go_name].__name__}"
    assert py_names - go_names == set(), f"not in the Go struct {go_name}"


def _kind_matches(go_type: str, info: mi.Type) -> bool:
    """Whether a msgspec type can hold what encoding/json writes for ``go_type``."""
    if go_type.startswith("*"):  # a pointer: the record, or null
        members = info.types if isinstance(info, mi.UnionType) else ()
        others = [t for t in members if not isinstance(t, mi.NoneType)]
        return len(others) == 1 and len(members) == 2 and _kind_matches(go_type[1:], others[0])
    simple = {
        "string": mi.StrType,
        "int": mi.IntType,
        "int64": mi.IntType,
        "float64": mi.FloatType,
        "bool": mi.BoolType,
    }
    if go_type in simple:
        return isinstance(info, simple[go_type])
    if go_type.startswith("[]"):
        return isinstance(info, mi.ListType | mi.VarTupleType) and (
            go_type == "[]T" or _kind_matches(go_type[2:], info.item_type)
        )
    if go_type.startswith("map[string]"):
        return isinstance(info, mi.DictType) and _kind_matches(go_type[11:], info.value_type)
    if go_type == "json.RawMessage":  # any JSON value; the contract stores objects
        return True
    return isinstance(info, mi.StructType) and info.cls is MIRRORED.get(go_type)


@pytest.mark.parametrize("go_name", sorted(MIRRORED))
def test_each_field_holds_the_same_kind_of_value(go_name: str) -> None:
    cls = MIRRORED[go_name]
    info = mi.type_info(cls)
    assert isinstance(info, mi.StructType)
    by_name = {field.encode_name: field for field in info.fields}
    for json_name, go_field in GO[go_name].items():
        field = by_name[json_name]
        assert _kind_matches(go_field.go_type, field.type), (
            f"{cls.__name__}.{field.name} ({json_name}) cannot hold Go's {go_field.go_type}"
        )


@pytest.mark.parametrize("go_name", sorted(MIRRORED))
def test_omitempty_fields_are_left_out_when_empty_as_go_does(go_name: str) -> None:
    cls = MIRRORED[go_name]
    fields = python_fields(cls)
    for json_name, go_field in GO[go_name].items():
        if go_field.omitempty:
            assert cls.__struct_config__.omit_defaults, f"{cls.__name__} must omit defaults"
            assert not fields[json_name].required, f"{cls.__name__}.{json_name} needs a default"


def test_the_parser_reads_tags_options_and_embedded_structs() -> None:
    assert GO["Event"]["sha256"] == GoField("string", omitempty=True)
    assert GO["Round"]["proposal"] == GoField("*Proposal", omitempty=False)
    assert {"cause", "aggregator", "sha256"} <= set(GO["RejectedProposal"])  # embeds Proposal
    assert GO["LoraConfig"]["alpha"].go_type == "float64"
