package contract_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"fedlora/chaincode/contract"

	"github.com/stretchr/testify/require"
)

// start is the transaction time of the first test transaction.
var start = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

// Test callers: nodes of three member orgs, their admins and an orderer identity.
var (
	admin1  = identity{msp: "Org1MSP", cn: "Admin@org1.example.com", admin: true}
	admin2  = identity{msp: "Org2MSP", cn: "Admin@org2.example.com", admin: true}
	orderer = identity{msp: "OrdererMSP", cn: "orderer.example.com"}
	nodeA   = identity{msp: "Org1MSP", cn: "node-a.org1.example.com"}
	nodeB   = identity{msp: "Org2MSP", cn: "node-b.org2.example.com"}
	nodeC   = identity{msp: "Org3MSP", cn: "node-c.org3.example.com"}
	nodeD   = identity{msp: "Org1MSP", cn: "node-d.org1.example.com"}
	nodeE   = identity{msp: "Org2MSP", cn: "node-e.org2.example.com"}
	outside = identity{msp: "Org3MSP", cn: "outsider.org3.example.com"}
)

// ledger runs contract transactions against a fake stub, one at a time,
// committing the writes of successful ones only, like a peer would.
type ledger struct {
	t    *testing.T
	stub *fakeStub
	cc   *contract.Contract
	now  time.Time
	// clientSkew is added to the transaction timestamp the submitter puts on its
	// proposals; the endorsing peer's clock stays at now.
	clientSkew time.Duration
	seq        int
	events     []contract.Event
	// block, while set, holds the endorsed transactions of one block that
	// inBlock validates and commits at its end.
	block *[]endorsed
}

// endorsed is a transaction simulated but not yet validated: its read set,
// its writes and its event.
type endorsed struct {
	name   string
	txID   string
	now    time.Time
	reads  map[string]bool
	ranges []string
	writes map[string][]byte
	event  *chaincodeEvent
}

func newLedger(t *testing.T) *ledger {
	t.Helper()
	l := &ledger{t: t, stub: newFakeStub(), cc: contract.New(), now: start}
	t.Cleanup(contract.SetPeerClock(func() time.Time { return l.now }))
	return l
}

// advance moves the peers' clock, and with it the transaction clock, forward.
func (l *ledger) advance(d time.Duration) { l.now = l.now.Add(d) }

// dated runs fn with the submitter's clock off by skew from the peers'.
func (l *ledger) dated(skew time.Duration, fn func()) {
	l.clientSkew = skew
	defer func() { l.clientSkew = 0 }()
	fn()
}

// call invokes transaction tx as who with string arguments, as the peer would.
func (l *ledger) call(who identity, tx string, args ...string) (string, error) {
	l.t.Helper()
	l.seq++
	l.stub.begin(fmt.Sprintf("tx%04d", l.seq), l.now.Add(l.clientSkew), append([]string{tx}, args...))
	method := reflect.ValueOf(l.cc).MethodByName(tx)
	require.True(l.t, method.IsValid(), "no transaction %s", tx)
	in := []reflect.Value{reflect.ValueOf(fakeContext{stub: l.stub, identity: fakeIdentity{id: who}})}
	// Like contractapi: declared parameters get the leading arguments; any
	// extra ones stay readable through the stub only.
	declared := method.Type().NumIn() - 1
	require.GreaterOrEqual(l.t, len(args), declared, "%s takes %d arguments", tx, declared)
	for _, arg := range args[:declared] {
		in = append(in, reflect.ValueOf(arg))
	}
	results := method.Call(in)
	out, _ := results[0].Interface().(string)
	err, _ := results[1].Interface().(error)
	if err != nil {
		return out, err
	}
	if l.block != nil {
		*l.block = append(*l.block, endorsed{
			name: tx, txID: l.stub.txID, now: l.stub.now, reads: l.stub.reads, ranges: l.stub.ranges,
			writes: l.stub.pending, event: l.stub.event,
		})
		l.stub.pending = map[string][]byte{}
		return out, nil
	}
	l.stub.commit()
	l.record(l.stub.event)
	return out, nil
}

// record notes the event of a committed transaction.
func (l *ledger) record(emitted *chaincodeEvent) {
	l.t.Helper()
	if emitted == nil {
		return
	}
	var event contract.Event
	require.NoError(l.t, json.Unmarshal(emitted.payload, &event))
	require.Equal(l.t, emitted.name, event.Event, "event name and payload disagree")
	l.events = append(l.events, event)
}

// inBlock endorses the transactions fn submits against the same committed
// state, as the peers do for the transactions of one block, then validates
// them in order as Fabric's committer does: a transaction that read a key,
// or scanned a range holding a key, that an earlier valid transaction of the
// block wrote fails MVCC_READ_CONFLICT (or PHANTOM_READ_CONFLICT) and writes
// nothing. It returns the names of the transactions that failed.
func (l *ledger) inBlock(fn func()) []string {
	l.t.Helper()
	var block []endorsed
	l.block = &block
	fn()
	l.block = nil
	written := map[string]bool{}
	var invalid []string
	for _, tx := range block {
		if conflicts(tx, written) {
			invalid = append(invalid, tx.name)
			continue
		}
		l.stub.apply(tx.txID, tx.now, tx.writes)
		for key := range tx.writes {
			written[key] = true
		}
		l.record(tx.event)
	}
	return invalid
}

func conflicts(tx endorsed, written map[string]bool) bool {
	for key := range written {
		if tx.reads[key] {
			return true
		}
		for _, prefix := range tx.ranges {
			if strings.HasPrefix(key, prefix) {
				return true
			}
		}
	}
	return false
}

// ok invokes a transaction that must succeed and returns its JSON result.
func (l *ledger) ok(who identity, tx string, args ...string) string {
	l.t.Helper()
	out, err := l.call(who, tx, args...)
	require.NoError(l.t, err, "%s as %s", tx, who.nodeID())
	return out
}

// fails invokes a transaction that must fail with code and returns the message.
func (l *ledger) fails(code contract.Code, who identity, tx string, args ...string) string {
	l.t.Helper()
	before := len(l.stub.committed)
	eventsBefore := len(l.events)
	_, err := l.call(who, tx, args...)
	require.Error(l.t, err, "%s as %s should fail with %s", tx, who.nodeID(), code)
	require.Equal(l.t, code, contract.CodeOf(err), "%s: %v", tx, err)
	require.Regexp(l.t, `^\[`+string(code)+`\] \S`, err.Error())
	require.Len(l.t, l.stub.committed, before, "a failed transaction must not write")
	require.Len(l.t, l.events, eventsBefore, "a failed transaction must not emit")
	return err.Error()
}

// lastEvent returns the event of the latest successful transaction.
func (l *ledger) lastEvent() contract.Event {
	l.t.Helper()
	require.NotEmpty(l.t, l.events)
	return l.events[len(l.events)-1]
}

func (l *ledger) lastTxID() string { return fmt.Sprintf("tx%04d", l.seq) }

func decode[T any](t *testing.T, raw string) T {
	t.Helper()
	var value T
	require.NoError(t, json.Unmarshal([]byte(raw), &value), raw)
	return value
}

// hash returns a valid SHA-256 hex digest derived from a label.
func hash(label string) string {
	sum := sha256.Sum256([]byte(label))
	return hex.EncodeToString(sum[:])
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// register registers each identity as a node with a distinct endpoint and TLS fingerprint.
func (l *ledger) register(ids ...identity) {
	l.t.Helper()
	for _, id := range ids {
		l.ok(id, "RegisterNode", id.cn+":7443", hash("tls "+id.nodeID()))
	}
}

// sessionSpec is a valid spec; tests change fields before encoding it.
func sessionSpec(id string, quorum, rounds int, participants ...identity) map[string]any {
	ids := []string{}
	for _, p := range participants {
		ids = append(ids, p.nodeID())
	}
	return map[string]any{
		"sessionId": id, "baseModel": "HuggingFaceTB/SmolLM2-135M-Instruct", "baseModelSha256": hash("base model"),
		"lora":       map[string]any{"rank": 8, "alpha": 16, "dropout": 0.05, "targetModules": []string{"v_proj", "q_proj"}},
		"datasetTag": "icd10-notes-v1", "rounds": rounds, "quorum": quorum,
		"deadlines":    map[string]any{"collectSeconds": 600, "aggregateSeconds": 300, "endorseSeconds": 120},
		"rule":         map[string]any{"name": "fedavg", "params": map[string]float64{"serverLr": 1}},
		"participants": ids,
	}
}

func encode(t *testing.T, v any) string {
	t.Helper()
	raw, err := json.Marshal(v)
	require.NoError(t, err)
	return string(raw)
}

// session runs a started session with the given participants (listed in the
// spec) and returns them sorted by node id, the order the election uses.
func (l *ledger) session(id string, quorum, rounds int, participants ...identity) []identity {
	l.t.Helper()
	l.register(participants...)
	l.ok(admin1, "CreateSession", encode(l.t, sessionSpec(id, quorum, rounds, participants...)))
	l.ok(admin1, "StartSession", id)
	sorted := append([]identity(nil), participants...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].nodeID() < sorted[j].nodeID() })
	return sorted
}

// round reads a round through the GetRound query.
func (l *ledger) round(sessionID string, r int) contract.Round {
	l.t.Helper()
	return decode[contract.Round](l.t, l.ok(nodeA, "GetRound", sessionID, fmt.Sprint(r)))
}

// submitAll submits an update from each participant for round r.
func (l *ledger) submitAll(sessionID string, r int, participants ...identity) {
	l.t.Helper()
	for _, p := range participants {
		l.ok(p, "SubmitUpdate", sessionID, fmt.Sprint(r), updateHash(sessionID, r, p), "100", `{"loss":0.5}`)
	}
}

func updateHash(sessionID string, r int, p identity) string {
	return hash(fmt.Sprintf("update %s %d %s", sessionID, r, p.nodeID()))
}

// proposal builds a ProposeAggregate argument over the round's updates.
func proposal(t *testing.T, aggregate string, round contract.Round) string {
	t.Helper()
	inputs := []map[string]string{}
	weights := map[string]float64{}
	for nodeID, update := range round.Updates {
		inputs = append(inputs, map[string]string{"nodeId": nodeID, "sha256": update.SHA256})
		weights[nodeID] = 1 / float64(len(round.Updates))
	}
	return encode(t, map[string]any{
		"sha256": aggregate, "inputs": inputs, "weights": weights,
		"rule": map[string]any{"name": "fedavg", "params": map[string]float64{"serverLr": 1}}, "optimizerStateSha256": hash("state " + aggregate),
	})
}

// byID finds the participant with a node id.
func byID(t *testing.T, nodeID string, participants []identity) identity {
	t.Helper()
	for _, p := range participants {
		if p.nodeID() == nodeID {
			return p
		}
	}
	t.Fatalf("%s is not among the participants", nodeID)
	return identity{}
}
