package contract

import (
	"encoding/json"
	"sort"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
)

// GetNode returns the Node with the given id.
func (c *Contract) GetNode(ctx contractapi.TransactionContextInterface, nodeID string) (out string, err error) {
	defer recoverPanic("GetNode", &out, &err)
	node, found, err := readNode(ctx.GetStub(), nodeID)
	if err == nil && !found {
		err = fail(CodeNotFound, "node %s is not registered", nodeID)
	}
	if err != nil {
		return "", err
	}
	return toJSON(node)
}

// ListNodes returns every registered Node, active or not, sorted by node id.
func (c *Contract) ListNodes(ctx contractapi.TransactionContextInterface) (out string, err error) {
	defer recoverPanic("ListNodes", &out, &err)
	nodes, err := readAll[Node](ctx.GetStub(), nodeKeyType)
	if err != nil {
		return "", err
	}
	sort.Slice(nodes, func(i, j int) bool { return nodes[i].NodeID < nodes[j].NodeID })
	return toJSON(nodes)
}

// GetSession returns the Session with the given id.
func (c *Contract) GetSession(ctx contractapi.TransactionContextInterface, sessionID string) (out string, err error) {
	defer recoverPanic("GetSession", &out, &err)
	session, err := requireSession(ctx.GetStub(), sessionID)
	if err != nil {
		return "", err
	}
	return toJSON(session)
}

// ListSessions returns every Session, sorted by session id.
func (c *Contract) ListSessions(ctx contractapi.TransactionContextInterface) (out string, err error) {
	defer recoverPanic("ListSessions", &out, &err)
	sessions, err := readAll[Session](ctx.GetStub(), sessionKeyType)
	if err != nil {
		return "", err
	}
	sort.Slice(sessions, func(i, j int) bool { return sessions[i].SessionID < sessions[j].SessionID })
	return toJSON(sessions)
}

// GetRound returns round number round (decimal) of a session.
func (c *Contract) GetRound(ctx contractapi.TransactionContextInterface, sessionID, round string) (out string, err error) {
	defer recoverPanic("GetRound", &out, &err)
	r, err := parseRound(round)
	if err != nil {
		return "", err
	}
	found := false
	var state Round
	if state, found, err = readRound(ctx.GetStub(), sessionID, r); err == nil && !found {
		err = fail(CodeNotFound, "session %s has no round %d", sessionID, r)
	}
	if err != nil {
		return "", err
	}
	return toJSON(state)
}

// History returns every committed version of one key, in the order the peer
// reports them, as [{txId, timestamp, isDelete, value}]. The key is named by
// kind and id parts passed as further arguments: ("node", nodeId),
// ("session", sessionId) or ("round", sessionId, round).
func (c *Contract) History(ctx contractapi.TransactionContextInterface, kind string) (out string, err error) {
	defer recoverPanic("History", &out, &err)
	stub := ctx.GetStub()
	// contractapi passes declared parameters only; the id parts are the rest.
	_, args := stub.GetFunctionAndParameters()
	var parts []string
	if len(args) > 1 {
		parts = args[1:]
	}
	key, err := historyKey(stub, kind, parts)
	if err != nil {
		return "", err
	}
	entries, err := readHistory(stub, key)
	if err != nil {
		return "", err
	}
	return toJSON(entries)
}

// AdapterLineage explains an adapter hash: its kind, session, round and
// producer, and for aggregates (and optimizer states) the inputs, weights,
// rule and endorsements of the proposal, and whether it became final.
func (c *Contract) AdapterLineage(ctx contractapi.TransactionContextInterface, sha256 string) (out string, err error) {
	defer recoverPanic("AdapterLineage", &out, &err)
	if err := checkSHA256("sha256", sha256); err != nil {
		return "", err
	}
	stub := ctx.GetStub()
	record, found, err := readAdapter(stub, sha256)
	if err == nil && !found {
		err = fail(CodeNotFound, "adapter %s is not on the ledger", sha256)
	}
	if err != nil {
		return "", err
	}
	round, _, err := readRound(stub, record.SessionID, record.Round)
	if err != nil {
		return "", err
	}
	return toJSON(lineageOf(record, round))
}

// ExportTrail returns a session with all its rounds and its participants' nodes.
func (c *Contract) ExportTrail(ctx contractapi.TransactionContextInterface, sessionID string) (out string, err error) {
	defer recoverPanic("ExportTrail", &out, &err)
	stub := ctx.GetStub()
	session, err := requireSession(stub, sessionID)
	if err != nil {
		return "", err
	}
	rounds, err := readAll[Round](stub, roundKeyType, sessionID)
	if err != nil {
		return "", err
	}
	nodes := make([]Node, 0, len(session.Participants))
	for _, nodeID := range session.Participants {
		node, found, err := readNode(stub, nodeID)
		if err != nil {
			return "", err
		}
		if found {
			nodes = append(nodes, node)
		}
	}
	return toJSON(Trail{Nodes: nodes, Rounds: rounds, Session: session})
}

// historyKey builds the ledger key that History reports on.
func historyKey(stub shim.ChaincodeStubInterface, kind string, parts []string) (string, error) {
	switch {
	case (kind == nodeKeyType || kind == sessionKeyType) && len(parts) == 1:
		return compositeKey(stub, kind, parts[0])
	case kind == roundKeyType && len(parts) == 2:
		r, err := parseRound(parts[1])
		if err != nil {
			return "", err
		}
		return roundKey(stub, parts[0], r)
	}
	return "", fail(CodeBadArgument, "History(%q, %q) is invalid; pass (node, nodeId), (session, sessionId) or (round, sessionId, round)", kind, parts)
}

func readHistory(stub shim.ChaincodeStubInterface, key string) ([]HistoryEntry, error) {
	iter, err := stub.GetHistoryForKey(key)
	if err != nil {
		return nil, internal(err, "failed to read history")
	}
	defer func() { _ = iter.Close() }()
	entries := []HistoryEntry{}
	for iter.HasNext() {
		mod, err := iter.Next()
		if err != nil {
			return nil, internal(err, "failed to read history")
		}
		entry := HistoryEntry{IsDelete: mod.GetIsDelete(), TxID: mod.GetTxId(), Value: json.RawMessage("null")}
		if mod.GetTimestamp() != nil {
			entry.Timestamp = formatTime(mod.GetTimestamp().AsTime())
		}
		if !mod.GetIsDelete() && json.Valid(mod.GetValue()) {
			entry.Value = json.RawMessage(mod.GetValue())
		}
		entries = append(entries, entry)
	}
	return entries, nil
}
