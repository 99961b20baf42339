package contract

import (
	"encoding/json"
	"sort"
	"time"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
)

// Composite-key object types of the world state.
const (
	nodeKeyType     = "node"
	sessionKeyType  = "session"
	roundKeyType    = "round"
	adapterKeyType  = "adapter"
	rejectedKeyType = "rejected"
	updateKeyType   = "update"
	verdictKeyType  = "verdict"
)

// roundKeyDigits zero-pads round numbers so that keys sort in round order.
const roundKeyDigits = 6

// maxRounds keeps every round number within roundKeyDigits.
const maxRounds = 999999

func nodeKey(stub shim.ChaincodeStubInterface, nodeID string) (string, error) {
	return compositeKey(stub, nodeKeyType, nodeID)
}

func sessionKey(stub shim.ChaincodeStubInterface, sessionID string) (string, error) {
	return compositeKey(stub, sessionKeyType, sessionID)
}

func roundKey(stub shim.ChaincodeStubInterface, sessionID string, round int) (string, error) {
	return compositeKey(stub, roundKeyType, sessionID, padded(round))
}

func adapterKey(stub shim.ChaincodeStubInterface, sha256, sessionID string) (string, error) {
	return compositeKey(stub, adapterKeyType, sha256, sessionID)
}

func compositeKey(stub shim.ChaincodeStubInterface, kind string, parts ...string) (string, error) {
	key, err := stub.CreateCompositeKey(kind, parts)
	if err != nil {
		return "", fail(CodeBadArgument, "cannot build a %s key from %q: %v", kind, parts, err)
	}
	return key, nil
}

// readJSON loads key into out; it reports false when the key holds nothing.
func readJSON(stub shim.ChaincodeStubInterface, key string, out any) (bool, error) {
	raw, err := stub.GetState(key)
	if err != nil {
		return false, internal(err, "failed to read state")
	}
	if raw == nil {
		return false, nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return false, internal(err, "failed to decode stored state")
	}
	return true, nil
}

// writeJSON stores v under key as compact JSON.
func writeJSON(stub shim.ChaincodeStubInterface, key string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return internal(err, "failed to encode state")
	}
	if err := stub.PutState(key, raw); err != nil {
		return internal(err, "failed to write state")
	}
	return nil
}

// readAll decodes every value stored under a partial composite key, in key order.
func readAll[T any](stub shim.ChaincodeStubInterface, kind string, parts ...string) ([]T, error) {
	return readUpTo[T](stub, 0, kind, parts...)
}

// readUpTo is readAll that refuses (LIMIT_EXCEEDED) to return more than limit
// values, reading at most one more; limit 0 means no limit.
func readUpTo[T any](stub shim.ChaincodeStubInterface, limit int, kind string, parts ...string) ([]T, error) {
	iter, err := stub.GetStateByPartialCompositeKey(kind, parts)
	if err != nil {
		return nil, internal(err, "failed to scan %s keys", kind)
	}
	defer func() { _ = iter.Close() }()
	rows, err := decodeRows[T](iter, kind, limit)
	if err != nil {
		return nil, err
	}
	if limit > 0 && len(rows) > limit {
		return nil, fail(CodeLimitExceeded, "there are more than %d %s records; read them page by page", limit, kind)
	}
	return rows, nil
}

// decodeRows decodes the values of a range iterator in key order, stopping
// after limit+1 rows when limit is positive.
func decodeRows[T any](iter shim.StateQueryIteratorInterface, kind string, limit int) ([]T, error) {
	type keyed struct {
		key   string
		value T
	}
	var rows []keyed
	for iter.HasNext() && (limit <= 0 || len(rows) <= limit) {
		kv, err := iter.Next()
		if err != nil {
			return nil, internal(err, "failed to scan %s keys", kind)
		}
		var value T
		if err := json.Unmarshal(kv.GetValue(), &value); err != nil {
			return nil, internal(err, "failed to decode %s %s", kind, kv.GetKey())
		}
		rows = append(rows, keyed{key: kv.GetKey(), value: value})
	}
	// The peer already returns keys in order; sorting again keeps the output
	// independent of the iterator implementation.
	sort.Slice(rows, func(i, j int) bool { return rows[i].key < rows[j].key })
	values := make([]T, 0, len(rows))
	for _, row := range rows {
		values = append(values, row.value)
	}
	return values, nil
}

// MaxClockSkew bounds how far a transaction's timestamp may lie from the
// endorsing peer's own clock. The submitter chooses the timestamp, and every
// deadline is judged by it: unchecked, one member could date a ReportTimeout a
// day ahead, back-date a late update, or store a deadline no one can parse.
const MaxClockSkew = 30 * time.Second

// peerClock is this chaincode process's clock. It is read only to check the
// transaction timestamp, never written to the ledger, so endorsements stay
// deterministic: peers whose clocks agree within the skew agree on the result.
var peerClock = time.Now

// txTime is the transaction timestamp, the contract's only clock for what it
// stores and decides, once it is known to be within MaxClockSkew of the peer's.
func txTime(stub shim.ChaincodeStubInterface) (time.Time, error) {
	ts, err := stub.GetTxTimestamp()
	if err != nil {
		return time.Time{}, internal(err, "failed to read the transaction timestamp")
	}
	if ts == nil {
		return time.Time{}, fail(CodeInternal, "the transaction has no timestamp")
	}
	at, own := ts.AsTime().UTC(), peerClock().UTC()
	if skew := at.Sub(own); skew > MaxClockSkew || skew < -MaxClockSkew {
		return time.Time{}, fail(CodeClockSkew, "transaction time %s is %s from the endorsing peer's clock (%s); the limit is %s: synchronise the submitter's clock (NTP)",
			at.Format(time.RFC3339Nano), skew.Round(time.Second), own.Format(time.RFC3339), MaxClockSkew)
	}
	return at, nil
}

// formatTime renders t as RFC 3339 UTC with whole seconds.
func formatTime(t time.Time) string {
	return t.UTC().Format(time.RFC3339)
}

// parseTime reads a timestamp written by formatTime.
func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, internal(err, "stored timestamp %q is malformed", s)
	}
	return t, nil
}

// emit publishes the transaction's one chaincode event.
func emit(stub shim.ChaincodeStubInterface, event Event) error {
	event.TxID = stub.GetTxID()
	raw, err := json.Marshal(event)
	if err != nil {
		return internal(err, "failed to encode event %s", event.Event)
	}
	if err := stub.SetEvent(event.Event, raw); err != nil {
		return internal(err, "failed to set event %s", event.Event)
	}
	return nil
}

// toJSON renders a transaction result.
func toJSON(v any) (string, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return "", internal(err, "failed to encode the result")
	}
	return string(raw), nil
}
