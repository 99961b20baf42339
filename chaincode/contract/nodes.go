package contract

import (
	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
)

// RegisterNode registers the caller as an active node. The node id, MSP id and
// common name come from the caller's certificate, never from arguments.
// Returns the Node; emits NodeRegistered.
func (c *Contract) RegisterNode(ctx contractapi.TransactionContextInterface, endpoint, tlsCertSha256 string) (out string, err error) {
	defer recoverPanic("RegisterNode", &out, &err)
	who, err := callerOf(ctx)
	if err != nil {
		return "", err
	}
	if err := checkNodeArgs(endpoint, tlsCertSha256); err != nil {
		return "", err
	}
	stub := ctx.GetStub()
	existing, found, err := readNode(stub, who.id)
	if err != nil {
		return "", err
	}
	if found {
		return "", fail(CodeAlreadyExists, "node %s is already registered (%s); use UpdateNode to change it", who.id, existing.Status)
	}
	if err := checkFingerprintFree(stub, who.id, tlsCertSha256); err != nil {
		return "", err
	}
	now, err := txTime(stub)
	if err != nil {
		return "", err
	}
	node := Node{
		CommonName: who.commonName, Endpoint: endpoint, MSPID: who.mspID, NodeID: who.id,
		RegisteredAt: formatTime(now), Status: NodeActive, TLSCertSHA256: tlsCertSha256, UpdatedAt: formatTime(now),
	}
	return saveNode(stub, node, Event{Event: "NodeRegistered", NodeID: who.id})
}

// UpdateNode changes the caller's endpoint and TLS certificate fingerprint.
// Only an active registered node may update itself. Returns the Node; emits NodeUpdated.
func (c *Contract) UpdateNode(ctx contractapi.TransactionContextInterface, endpoint, tlsCertSha256 string) (out string, err error) {
	defer recoverPanic("UpdateNode", &out, &err)
	who, err := callerOf(ctx)
	if err != nil {
		return "", err
	}
	if err := checkNodeArgs(endpoint, tlsCertSha256); err != nil {
		return "", err
	}
	stub := ctx.GetStub()
	node, err := requireActiveNode(stub, who.id)
	if err != nil {
		return "", err
	}
	if err := checkFingerprintFree(stub, who.id, tlsCertSha256); err != nil {
		return "", err
	}
	now, err := txTime(stub)
	if err != nil {
		return "", err
	}
	node.Endpoint, node.TLSCertSHA256, node.UpdatedAt = endpoint, tlsCertSha256, formatTime(now)
	return saveNode(stub, node, Event{Event: "NodeUpdated", NodeID: who.id})
}

// DeactivateNode marks a node inactive for good. Callable by the node itself or
// by an admin of the node's org. Returns the Node; emits NodeDeactivated.
func (c *Contract) DeactivateNode(ctx contractapi.TransactionContextInterface, nodeID string) (out string, err error) {
	defer recoverPanic("DeactivateNode", &out, &err)
	who, err := callerOf(ctx)
	if err != nil {
		return "", err
	}
	stub := ctx.GetStub()
	node, found, err := readNode(stub, nodeID)
	if err != nil {
		return "", err
	}
	if !found {
		return "", fail(CodeNotFound, "node %s is not registered", nodeID)
	}
	if who.id != node.NodeID && !(who.admin && who.mspID == node.MSPID) {
		return "", fail(CodeNotAdmin, "%s may not deactivate %s; only the node itself or an admin of %s may", who.id, nodeID, node.MSPID)
	}
	if node.Status != NodeActive {
		return "", fail(CodeDuplicate, "node %s is already inactive", nodeID)
	}
	now, err := txTime(stub)
	if err != nil {
		return "", err
	}
	node.Status, node.UpdatedAt = NodeInactive, formatTime(now)
	return saveNode(stub, node, Event{Event: "NodeDeactivated", NodeID: who.id, Subject: nodeID})
}

func checkNodeArgs(endpoint, tlsCertSha256 string) error {
	if err := checkEndpoint(endpoint); err != nil {
		return err
	}
	return checkSHA256("tlsCertSha256", tlsCertSha256)
}

// checkFingerprintFree stops two nodes from claiming one TLS certificate, which
// would make the mTLS fingerprint-to-node lookup ambiguous.
func checkFingerprintFree(stub shim.ChaincodeStubInterface, nodeID, fingerprint string) error {
	nodes, err := readAll[Node](stub, nodeKeyType)
	if err != nil {
		return err
	}
	for _, other := range nodes {
		if other.NodeID != nodeID && other.TLSCertSHA256 == fingerprint {
			return fail(CodeDuplicate, "TLS certificate %s is already registered to node %s", fingerprint, other.NodeID)
		}
	}
	return nil
}

func readNode(stub shim.ChaincodeStubInterface, nodeID string) (Node, bool, error) {
	var node Node
	key, err := nodeKey(stub, nodeID)
	if err != nil {
		return node, false, err
	}
	found, err := readJSON(stub, key, &node)
	return node, found, err
}

// requireActiveNode loads a node that must be registered and active.
func requireActiveNode(stub shim.ChaincodeStubInterface, nodeID string) (Node, error) {
	node, found, err := readNode(stub, nodeID)
	if err != nil {
		return node, err
	}
	if !found {
		return node, fail(CodeNotRegistered, "%s is not a registered node; call RegisterNode first", nodeID)
	}
	if node.Status != NodeActive {
		return node, fail(CodeNotRegistered, "node %s is inactive", nodeID)
	}
	return node, nil
}

func saveNode(stub shim.ChaincodeStubInterface, node Node, event Event) (string, error) {
	key, err := nodeKey(stub, node.NodeID)
	if err != nil {
		return "", err
	}
	if err := writeJSON(stub, key, node); err != nil {
		return "", err
	}
	if err := emit(stub, event); err != nil {
		return "", err
	}
	return toJSON(node)
}
