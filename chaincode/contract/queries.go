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

// ListNodes returns every registered Node, active or not, sorted by node id;
// more than maxListedNodes are refused (LIMIT_EXCEEDED): use ListNodesPage.
func (c *Contract) ListNodes(ctx contractapi.TransactionContextInterface) (out string, err error) {
	defer recoverPanic("ListNodes", &out, &err)
	nodes, err := readUpTo[Node](ctx.GetStub(), maxListedNodes, nodeKeyType)
	if err != nil {
		return "", err
	}
	sort.Slice(nodes, func(i, j int) bool { return nodes[i].NodeID < nodes[j].NodeID })
	return toJSON(nodes)
}

// GetSession returns the Session with the given id.
func (c *Contract) GetSession(ctx contractapi.TransactionContextInterface, sessionID string) (out string, err error) {
	defer recoverPanic("GetSession", &out, &err)
	stub := ctx.GetStub()
	stored, err := requireSession(stub, sessionID)
	if err != nil {
		return "", err
	}
	session, err := currentSession(stub, stored)
	if err != nil {
		return "", err
	}
	return toJSON(session)
}

// ListSessions returns every Session, sorted by session id; more than
// maxListedSessions are refused (LIMIT_EXCEEDED): use ListSessionsPage.
func (c *Contract) ListSessions(ctx contractapi.TransactionContextInterface) (out string, err error) {
	defer recoverPanic("ListSessions", &out, &err)
	stub := ctx.GetStub()
	sessions, err := readUpTo[Session](stub, maxListedSessions, sessionKeyType)
	if err != nil {
		return "", err
	}
	if sessions, err = currentSessions(stub, sessions); err != nil {
		return "", err
	}
	sort.Slice(sessions, func(i, j int) bool { return sessions[i].SessionID < sessions[j].SessionID })
	return toJSON(sessions)
}

// GetRound returns round number round (decimal) of a session, as its header
// and its participants' entries make it.
func (c *Contract) GetRound(ctx contractapi.TransactionContextInterface, sessionID, round string) (out string, err error) {
	defer recoverPanic("GetRound", &out, &err)
	r, err := parseRound(round)
	if err != nil {
		return "", err
	}
	stub := ctx.GetStub()
	session, err := requireSession(stub, sessionID)
	if err != nil {
		return "", err
	}
	view, found, err := readRoundView(stub, session, r)
	if err == nil && !found {
		err = fail(CodeNotFound, "session %s has no round %d", sessionID, r)
	}
	if err != nil {
		return "", err
	}
	return toJSON(view.Round)
}

// History returns every committed version of one key, in the order the peer
// reports them, as [{txId, timestamp, isDelete, value}]. The key is named by
// kind and id parts passed as further arguments: ("node", nodeId),
// ("session", sessionId) or ("round", sessionId, round).
func (c *Contract) History(ctx contractapi.TransactionContextInterface, kind string) (out string, err error) {
	defer recoverPanic("History", &out, &err)
	stub := ctx.GetStub()
	key, err := historyKey(stub, kind, extraArgs(stub, 1))
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
// rule and endorsements of the proposal, and whether it became final. Each
// session keeps its own record of a hash, so the same bytes may be recorded
// in several sessions: an optional second argument names the session; without
// it the answer is the only record, or else the only final one, and a hash
// that stays ambiguous is refused with the sessions listed.
func (c *Contract) AdapterLineage(ctx contractapi.TransactionContextInterface, sha256 string) (out string, err error) {
	defer recoverPanic("AdapterLineage", &out, &err)
	if err := checkSHA256("sha256", sha256); err != nil {
		return "", err
	}
	stub := ctx.GetStub()
	sessionID, err := optionalArg(stub, 1, "AdapterLineage(sha256, [sessionId])")
	if err != nil {
		return "", err
	}
	records, err := readAdapterRecords(stub, sha256)
	if err != nil {
		return "", err
	}
	lineages := make([]Lineage, 0, len(records))
	for _, record := range records {
		if sessionID != "" && record.SessionID != sessionID {
			continue
		}
		lineage, err := explainAdapter(stub, record)
		if err != nil {
			return "", err
		}
		lineages = append(lineages, lineage)
	}
	chosen, err := chooseLineage(sha256, lineages)
	if err != nil {
		return "", err
	}
	return toJSON(chosen)
}

// ExportTrail returns a session with all its rounds and its participants'
// nodes, each as its entries make it.
func (c *Contract) ExportTrail(ctx contractapi.TransactionContextInterface, sessionID string) (out string, err error) {
	defer recoverPanic("ExportTrail", &out, &err)
	stub := ctx.GetStub()
	stored, err := requireSession(stub, sessionID)
	if err != nil {
		return "", err
	}
	session, rounds, err := sessionRounds(stub, stored)
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

// sessionRounds derives every round of a stored session, in round order, with
// the round that opened after the stored current one became final, and the
// session as they make it.
func sessionRounds(stub shim.ChaincodeStubInterface, stored Session) (Session, []Round, error) {
	headers, err := readAll[Round](stub, roundKeyType, stored.SessionID)
	if err != nil {
		return stored, nil, err
	}
	entries, err := readSessionEntries(stub, stored.SessionID)
	if err != nil {
		return stored, nil, err
	}
	session, rounds := stored, make([]Round, 0, len(headers)+1)
	var current roundView
	for _, header := range headers {
		view, err := deriveRound(stored, header, entries.of(header))
		if err != nil {
			return stored, nil, err
		}
		rounds = append(rounds, view.Round)
		if header.Round == stored.CurrentRound && stored.Status == SessionRunning {
			session, current = advanceSession(stored, view), view
		}
	}
	if session.CurrentRound == stored.CurrentRound || rounds[len(rounds)-1].Round >= session.CurrentRound {
		return session, rounds, nil
	}
	next, err := newRound(stored, session.CurrentRound, current.decidedAt)
	if err != nil {
		return stored, nil, err
	}
	opened, err := deriveRound(stored, next, entries.of(next))
	return session, append(rounds, opened.Round), err
}

// currentSessions applies each stored session's current round to it.
func currentSessions(stub shim.ChaincodeStubInterface, stored []Session) ([]Session, error) {
	sessions := make([]Session, 0, len(stored))
	for _, session := range stored {
		current, err := currentSession(stub, session)
		if err != nil {
			return nil, err
		}
		sessions = append(sessions, current)
	}
	return sessions, nil
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

// extraArgs returns the arguments after the first declared ones: contractapi
// passes declared parameters only, and tolerates more, which stay readable
// through the stub. Queries use them for optional and variable arguments.
func extraArgs(stub shim.ChaincodeStubInterface, declared int) []string {
	_, args := stub.GetFunctionAndParameters()
	if len(args) <= declared {
		return nil
	}
	return args[declared:]
}

// optionalArg returns the one optional argument after the declared ones, or "".
func optionalArg(stub shim.ChaincodeStubInterface, declared int, usage string) (string, error) {
	extra := extraArgs(stub, declared)
	if len(extra) > 1 {
		return "", fail(CodeBadArgument, "too many arguments; call %s", usage)
	}
	if len(extra) == 0 {
		return "", nil
	}
	return extra[0], nil
}
