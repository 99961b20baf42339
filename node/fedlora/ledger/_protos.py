"""The generated Fabric protobuf modules, typed as ``Any`` because they ship no type stubs."""

from __future__ import annotations

from typing import Any

from fabric_protos.common import common_pb2 as _common_pb2
from fabric_protos.gateway import gateway_pb2 as _gateway_pb2
from fabric_protos.gateway import gateway_pb2_grpc as _gateway_pb2_grpc
from fabric_protos.orderer import ab_pb2 as _ab_pb2
from fabric_protos.peer import chaincode_event_pb2 as _chaincode_event_pb2
from fabric_protos.peer import chaincode_pb2 as _chaincode_pb2
from fabric_protos.peer import proposal_pb2 as _proposal_pb2
from fabric_protos.peer import proposal_response_pb2 as _proposal_response_pb2
from fabric_protos.peer import transaction_pb2 as _transaction_pb2

common_pb2: Any = _common_pb2
gateway_pb2: Any = _gateway_pb2
gateway_pb2_grpc: Any = _gateway_pb2_grpc
ab_pb2: Any = _ab_pb2
chaincode_event_pb2: Any = _chaincode_event_pb2
chaincode_pb2: Any = _chaincode_pb2
proposal_pb2: Any = _proposal_pb2
proposal_response_pb2: Any = _proposal_response_pb2
transaction_pb2: Any = _transaction_pb2
