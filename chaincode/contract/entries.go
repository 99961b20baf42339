package contract

import (
	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
)

// Each participant's update and each verdict has a key of its own:
//
//	update  / sessionId / round / nodeId
//	verdict / sessionId / round / attempt / nodeId
//
// SubmitUpdate and EndorseAggregate write only the caller's entry and read
// only the round's header and that entry, so concurrent ones in one block
// never conflict. Nothing writes an entry twice: a participant submits once
// per round and gives one verdict per attempt.

// storedUpdate is the ledger value of one update.
type storedUpdate struct {
	NodeID string `json:"nodeId"`
	Round  int    `json:"round"`
	Update Update `json:"update"`
}

// storedVerdict is the ledger value of one verdict on one attempt's proposal.
type storedVerdict struct {
	Attempt int         `json:"attempt"`
	NodeID  string      `json:"nodeId"`
	Round   int         `json:"round"`
	Verdict Endorsement `json:"verdict"`
}

func updateKey(stub shim.ChaincodeStubInterface, sessionID string, round int, nodeID string) (string, error) {
	return compositeKey(stub, updateKeyType, sessionID, padded(round), nodeID)
}

func verdictKey(stub shim.ChaincodeStubInterface, sessionID string, round, attempt int, nodeID string) (string, error) {
	return compositeKey(stub, verdictKeyType, sessionID, padded(round), padded(attempt), nodeID)
}

// readOwnUpdate reads one participant's update of a round.
func readOwnUpdate(stub shim.ChaincodeStubInterface, sessionID string, round int, nodeID string) (Update, bool, error) {
	var stored storedUpdate
	key, err := updateKey(stub, sessionID, round, nodeID)
	if err != nil {
		return Update{}, false, err
	}
	found, err := readJSON(stub, key, &stored)
	return stored.Update, found, err
}

// readOwnVerdict reads one participant's verdict on one attempt.
func readOwnVerdict(stub shim.ChaincodeStubInterface, sessionID string, round, attempt int, nodeID string) (Endorsement, bool, error) {
	var stored storedVerdict
	key, err := verdictKey(stub, sessionID, round, attempt, nodeID)
	if err != nil {
		return Endorsement{}, false, err
	}
	found, err := readJSON(stub, key, &stored)
	return stored.Verdict, found, err
}

func saveUpdate(stub shim.ChaincodeStubInterface, sessionID string, round int, nodeID string, update Update) error {
	key, err := updateKey(stub, sessionID, round, nodeID)
	if err != nil {
		return err
	}
	return writeJSON(stub, key, storedUpdate{NodeID: nodeID, Round: round, Update: update})
}

func saveVerdict(stub shim.ChaincodeStubInterface, sessionID string, round, attempt int, nodeID string, verdict Endorsement) error {
	key, err := verdictKey(stub, sessionID, round, attempt, nodeID)
	if err != nil {
		return err
	}
	return writeJSON(stub, key, storedVerdict{Attempt: attempt, NodeID: nodeID, Round: round, Verdict: verdict})
}

// roundEntries are what a round's participants wrote under keys of their own:
// every update, the verdicts on the current attempt's proposal, and the
// proposals that lost their attempt.
type roundEntries struct {
	updates  map[string]Update
	verdicts map[string]Endorsement
	rejected []RejectedProposal
}

// readRoundEntries reads the entries of the round whose header is given; the
// verdicts only while the header is endorsing, on its attempt.
func readRoundEntries(stub shim.ChaincodeStubInterface, header Round) (roundEntries, error) {
	entries := roundEntries{updates: map[string]Update{}, verdicts: map[string]Endorsement{}}
	updates, err := readAll[storedUpdate](stub, updateKeyType, header.SessionID, padded(header.Round))
	if err != nil {
		return entries, err
	}
	for _, stored := range updates {
		entries.updates[stored.NodeID] = stored.Update
	}
	if header.Phase == PhaseEndorsing {
		verdicts, err := readAll[storedVerdict](stub, verdictKeyType, header.SessionID, padded(header.Round), padded(header.Attempt))
		if err != nil {
			return entries, err
		}
		for _, stored := range verdicts {
			entries.verdicts[stored.NodeID] = stored.Verdict
		}
	}
	entries.rejected, err = readRejected(stub, header.SessionID, header.Round)
	return entries, err
}

// sessionEntries are the entries of every round of one session, read with
// one range read per kind.
type sessionEntries struct {
	updates  map[int]map[string]Update
	verdicts map[int]map[int]map[string]Endorsement
	rejected map[int][]RejectedProposal
}

func readSessionEntries(stub shim.ChaincodeStubInterface, sessionID string) (sessionEntries, error) {
	entries := sessionEntries{updates: map[int]map[string]Update{}, verdicts: map[int]map[int]map[string]Endorsement{}, rejected: map[int][]RejectedProposal{}}
	updates, err := readAll[storedUpdate](stub, updateKeyType, sessionID)
	if err != nil {
		return entries, err
	}
	for _, stored := range updates {
		if entries.updates[stored.Round] == nil {
			entries.updates[stored.Round] = map[string]Update{}
		}
		entries.updates[stored.Round][stored.NodeID] = stored.Update
	}
	verdicts, err := readAll[storedVerdict](stub, verdictKeyType, sessionID)
	if err != nil {
		return entries, err
	}
	for _, stored := range verdicts {
		if entries.verdicts[stored.Round] == nil {
			entries.verdicts[stored.Round] = map[int]map[string]Endorsement{}
		}
		if entries.verdicts[stored.Round][stored.Attempt] == nil {
			entries.verdicts[stored.Round][stored.Attempt] = map[string]Endorsement{}
		}
		entries.verdicts[stored.Round][stored.Attempt][stored.NodeID] = stored.Verdict
	}
	rejected, err := readAll[storedRejection](stub, rejectedKeyType, sessionID)
	if err != nil {
		return entries, err
	}
	for _, stored := range rejected {
		entries.rejected[stored.Round] = append(entries.rejected[stored.Round], stored.Rejected)
	}
	return entries, nil
}

// of returns the entries of the round whose header is given.
func (entries sessionEntries) of(header Round) roundEntries {
	of := roundEntries{updates: map[string]Update{}, verdicts: map[string]Endorsement{}, rejected: entries.rejected[header.Round]}
	for nodeID, update := range entries.updates[header.Round] {
		of.updates[nodeID] = update
	}
	if header.Phase == PhaseEndorsing {
		for nodeID, verdict := range entries.verdicts[header.Round][header.Attempt] {
			of.verdicts[nodeID] = verdict
		}
	}
	return of
}
