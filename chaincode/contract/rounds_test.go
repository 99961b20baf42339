package contract_test

import (
	"sort"
	"testing"
	"time"

	"fedlora/chaincode/contract"

	"github.com/stretchr/testify/require"
)

func TestSubmitUpdateRules(t *testing.T) {
	l := newLedger(t)
	p := l.session("s1", 2, 2, nodeA, nodeB, nodeC)
	l.register(outside)
	sha := updateHash("s1", 1, nodeA)

	l.fails(contract.CodeNotParticipant, outside, "SubmitUpdate", "s1", "1", sha, "10", "{}")
	l.fails(contract.CodeNotRegistered, nodeD, "SubmitUpdate", "s1", "1", sha, "10", "{}")
	l.fails(contract.CodeNotFound, nodeA, "SubmitUpdate", "s9", "1", sha, "10", "{}")
	l.fails(contract.CodeWrongRound, nodeA, "SubmitUpdate", "s1", "2", sha, "10", "{}")
	for _, bad := range [][]string{
		{"0", sha, "10", "{}"}, {"one", sha, "10", "{}"}, {"1", "abc", "10", "{}"}, {"1", sha, "0", "{}"},
		{"1", sha, "-3", "{}"}, {"1", sha, "1.5", "{}"}, {"1", sha, "10", "[1]"}, {"1", sha, "10", `{"loss":"low"}`},
		{"1", sha, "10", `{"":1}`}, {"1", sha, "10", `{"loss":1e999}`},
	} {
		l.fails(contract.CodeBadArgument, nodeA, "SubmitUpdate", append([]string{"s1"}, bad...)...)
	}

	round := decode[contract.Round](t, l.ok(nodeA, "SubmitUpdate", "s1", "1", sha, "10", `{"loss":0.25,"acc":0.5}`))
	require.Equal(t, contract.Update{
		Metrics: map[string]float64{"acc": 0.5, "loss": 0.25}, NumExamples: 10, SHA256: sha, SubmittedAt: stamp(start), TxID: l.lastTxID(),
	}, round.Updates[nodeA.nodeID()])
	require.Equal(t, "collecting", round.Phase)
	require.Equal(t, contract.Event{
		Event: "UpdateSubmitted", SessionID: "s1", Round: 1, Phase: "collecting", Aggregator: p[1].nodeID(), NodeID: nodeA.nodeID(), SHA256: sha, TxID: l.lastTxID(),
	}, l.lastEvent())
	l.fails(contract.CodeDuplicate, nodeA, "SubmitUpdate", "s1", "1", hash("second try"), "10", "{}")
	msg := l.fails(contract.CodeDuplicate, nodeB, "SubmitUpdate", "s1", "1", sha, "10", "{}")
	require.Contains(t, msg, "already on the ledger")

	l.advance(600 * time.Second)
	l.ok(nodeB, "SubmitUpdate", "s1", "1", updateHash("s1", 1, nodeB), "5", "")
	l.advance(time.Second)
	l.fails(contract.CodeDeadlinePassed, nodeC, "SubmitUpdate", "s1", "1", updateHash("s1", 1, nodeC), "5", "{}")
}

func TestLastUpdateStartsAggregation(t *testing.T) {
	l := newLedger(t)
	p := l.session("s1", 3, 1, nodeA, nodeB, nodeC)
	l.submitAll("s1", 1, nodeA, nodeB)
	l.advance(10 * time.Second)
	returned := decode[contract.Round](t, l.ok(nodeC, "SubmitUpdate", "s1", "1", updateHash("s1", 1, nodeC), "7", "{}"))
	// The transaction read only the header and its own entry, and says so.
	require.Equal(t, "collecting", returned.Phase)
	require.Equal(t, []string{nodeC.nodeID()}, keys(returned.Updates))
	require.Equal(t, contract.Event{
		Event: "UpdateSubmitted", SessionID: "s1", Round: 1, Phase: "collecting", Aggregator: p[1].nodeID(),
		NodeID: nodeC.nodeID(), SHA256: updateHash("s1", 1, nodeC), TxID: l.lastTxID(),
	}, l.lastEvent())

	round := l.round("s1", 1)
	require.Equal(t, "aggregating", round.Phase)
	require.Equal(t, stamp(start.Add(10*time.Second+300*time.Second)), round.PhaseDeadline)
	require.Len(t, round.Updates, 3)
	l.fails(contract.CodeWrongPhase, nodeA, "SubmitUpdate", "s1", "1", hash("late"), "7", "{}")
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for key := range m {
		out = append(out, key)
	}
	sort.Strings(out)
	return out
}

func TestProposeAggregateRules(t *testing.T) {
	l := newLedger(t)
	p := l.session("s1", 3, 1, nodeA, nodeB, nodeC)
	aggregator, other := p[1], p[0]
	l.submitAll("s1", 1, p[0], p[1])
	partial := l.round("s1", 1)
	l.fails(contract.CodeWrongPhase, aggregator, "ProposeAggregate", "s1", "1", proposal(t, hash("agg"), partial))
	l.submitAll("s1", 1, p[2])
	round := l.round("s1", 1)
	good := proposal(t, hash("agg"), round)

	l.fails(contract.CodeNotAggregator, other, "ProposeAggregate", "s1", "1", good)
	l.fails(contract.CodeWrongRound, aggregator, "ProposeAggregate", "s1", "2", good)
	for name, mutate := range map[string]func(m map[string]any){
		"bad hash":       func(m map[string]any) { m["sha256"] = "xyz" },
		"bad state hash": func(m map[string]any) { m["optimizerStateSha256"] = "12" },
		"other rule":     func(m map[string]any) { m["rule"] = map[string]any{"name": "median"} },
		"no inputs":      func(m map[string]any) { m["inputs"] = []any{}; m["weights"] = map[string]float64{} },
		"input twice":    func(m map[string]any) { m["inputs"] = append(m["inputs"].([]any), m["inputs"].([]any)[0]) },
		"unknown input node": func(m map[string]any) {
			m["inputs"] = append(m["inputs"].([]any), map[string]any{"nodeId": outside.nodeID(), "sha256": hash("x")})
		},
		"missing weight":  func(m map[string]any) { delete(m["weights"].(map[string]any), other.nodeID()) },
		"extra weight":    func(m map[string]any) { m["weights"].(map[string]any)["Org9MSP/x"] = 1.0 },
		"zero weight":     func(m map[string]any) { m["weights"].(map[string]any)[other.nodeID()] = 0.0 },
		"negative weight": func(m map[string]any) { m["weights"].(map[string]any)[other.nodeID()] = -1.0 },
		"unknown field":   func(m map[string]any) { m["note"] = "hi" },
	} {
		bad := decode[map[string]any](t, good)
		mutate(bad)
		msg := l.fails(contract.CodeBadArgument, aggregator, "ProposeAggregate", "s1", "1", encode(t, bad))
		require.NotEmpty(t, msg, name)
	}
	wrongInput := decode[map[string]any](t, good)
	wrongInput["inputs"].([]any)[0].(map[string]any)["sha256"] = hash("not the submitted update")
	l.fails(contract.CodeHashMismatch, aggregator, "ProposeAggregate", "s1", "1", encode(t, wrongInput))

	l.advance(301 * time.Second)
	l.fails(contract.CodeDeadlinePassed, aggregator, "ProposeAggregate", "s1", "1", good)
}

func TestProposalCountsAsTheAggregatorsAcceptance(t *testing.T) {
	l := newLedger(t)
	p := l.session("s1", 3, 2, nodeA, nodeB, nodeC)
	l.submitAll("s1", 1, p...)
	aggregator := p[1]
	// Inputs may be a subset of the updates, listed in any order; they are stored sorted.
	subset := encode(t, map[string]any{
		"sha256": hash("agg"), "optimizerStateSha256": "", "rule": map[string]any{"name": "fedavg", "params": map[string]float64{"serverLr": 1}},
		"inputs":  []map[string]string{{"nodeId": p[2].nodeID(), "sha256": updateHash("s1", 1, p[2])}, {"nodeId": p[0].nodeID(), "sha256": updateHash("s1", 1, p[0])}},
		"weights": map[string]float64{p[0].nodeID(): 0.75, p[2].nodeID(): 0.25},
	})
	l.advance(5 * time.Second)
	round := decode[contract.Round](t, l.ok(aggregator, "ProposeAggregate", "s1", "1", subset))

	require.Equal(t, "endorsing", round.Phase)
	require.Equal(t, stamp(start.Add(5*time.Second+120*time.Second)), round.PhaseDeadline)
	require.Equal(t, []contract.Input{{NodeID: p[0].nodeID(), SHA256: updateHash("s1", 1, p[0])}, {NodeID: p[2].nodeID(), SHA256: updateHash("s1", 1, p[2])}}, round.Proposal.Inputs)
	require.Equal(t, aggregator.nodeID(), round.Proposal.Aggregator)
	require.Equal(t, map[string]float64{"serverLr": 1}, round.Proposal.Rule.Params)
	require.Equal(t, map[string]contract.Endorsement{
		aggregator.nodeID(): {Accept: true, At: stamp(start.Add(5 * time.Second)), Reason: "proposed", SHA256: hash("agg"), TxID: l.lastTxID()},
	}, round.Endorsements)
	require.Equal(t, contract.Event{
		Event: "AggregateProposed", SessionID: "s1", Round: 1, Phase: "endorsing", Aggregator: aggregator.nodeID(), NodeID: aggregator.nodeID(), SHA256: hash("agg"), TxID: l.lastTxID(),
	}, l.lastEvent())
	l.fails(contract.CodeWrongPhase, aggregator, "ProposeAggregate", "s1", "1", subset)
	l.fails(contract.CodeDuplicate, aggregator, "EndorseAggregate", "s1", "1", hash("agg"), "true", "")
}

func TestEndorseAggregateRules(t *testing.T) {
	l := newLedger(t)
	p := l.session("s1", 2, 1, nodeA, nodeB, nodeC)
	l.submitAll("s1", 1, p...)
	l.fails(contract.CodeWrongPhase, p[0], "EndorseAggregate", "s1", "1", hash("agg"), "true", "")
	l.ok(p[1], "ProposeAggregate", "s1", "1", proposal(t, hash("agg"), l.round("s1", 1)))
	l.register(outside)

	l.fails(contract.CodeNotParticipant, outside, "EndorseAggregate", "s1", "1", hash("agg"), "true", "")
	l.fails(contract.CodeHashMismatch, p[0], "EndorseAggregate", "s1", "1", hash("other"), "true", "")
	l.fails(contract.CodeBadArgument, p[0], "EndorseAggregate", "s1", "1", "nothex", "true", "")
	l.fails(contract.CodeBadArgument, p[0], "EndorseAggregate", "s1", "1", hash("agg"), "yes", "")
	l.fails(contract.CodeBadArgument, p[0], "EndorseAggregate", "s1", "1", hash("agg"), "false", "")
	l.fails(contract.CodeBadArgument, p[0], "EndorseAggregate", "s1", "0", hash("agg"), "true", "")
	l.fails(contract.CodeWrongRound, p[0], "EndorseAggregate", "s1", "2", hash("agg"), "true", "")

	round := decode[contract.Round](t, l.ok(p[0], "EndorseAggregate", "s1", "1", hash("agg"), "false", "norm of B exceeds bound"))
	require.Equal(t, contract.Endorsement{Accept: false, At: stamp(start), Reason: "norm of B exceeds bound", SHA256: hash("agg"), TxID: l.lastTxID()}, round.Endorsements[p[0].nodeID()])
	require.Equal(t, "AggregateRejected", l.lastEvent().Event)
	l.fails(contract.CodeDuplicate, p[0], "EndorseAggregate", "s1", "1", hash("agg"), "true", "")

	l.advance(121 * time.Second)
	l.fails(contract.CodeDeadlinePassed, p[2], "EndorseAggregate", "s1", "1", hash("agg"), "true", "")
}
