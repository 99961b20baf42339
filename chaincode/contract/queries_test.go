package contract_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"fedlora/chaincode/contract"

	"github.com/stretchr/testify/require"
)

func TestHistoryListsEveryVersionNewestFirst(t *testing.T) {
	l := newLedger(t)
	l.register(nodeA)
	registered := l.lastTxID()
	l.advance(time.Minute)
	l.ok(nodeA, "UpdateNode", "a2:7443", hash("tls a2"))
	updated := l.lastTxID()

	entries := decode[[]contract.HistoryEntry](t, l.ok(nodeB, "History", "node", nodeA.nodeID()))
	require.Len(t, entries, 2)
	require.Equal(t, []string{updated, registered}, []string{entries[0].TxID, entries[1].TxID})
	require.Equal(t, []string{stamp(start.Add(time.Minute)), stamp(start)}, []string{entries[0].Timestamp, entries[1].Timestamp})
	require.False(t, entries[0].IsDelete)
	require.Equal(t, "a2:7443", decode[contract.Node](t, string(entries[0].Value)).Endpoint)
	require.Equal(t, nodeA.cn+":7443", decode[contract.Node](t, string(entries[1].Value)).Endpoint)

	require.JSONEq(t, `[]`, l.ok(nodeB, "History", "node", "Org1MSP/never"))
	l.fails(contract.CodeBadArgument, nodeB, "History", "nodes", nodeA.nodeID())
	l.fails(contract.CodeBadArgument, nodeB, "History", "node")
	l.fails(contract.CodeBadArgument, nodeB, "History", "round", "s1")
	l.fails(contract.CodeBadArgument, nodeB, "History", "round", "s1", "x")
}

func TestHistoryOfSessionsAndRounds(t *testing.T) {
	l := newLedger(t)
	p := l.session("s1", 2, 1, nodeA, nodeB)
	l.submitAll("s1", 1, p...)
	l.ok(p[1], "ProposeAggregate", "s1", "1", proposal(t, hash("agg"), l.round("s1", 1)))
	l.ok(p[0], "EndorseAggregate", "s1", "1", hash("agg"), "true", "")

	sessions := decode[[]contract.HistoryEntry](t, l.ok(nodeA, "History", "session", "s1"))
	require.Len(t, sessions, 2) // created, started
	require.Equal(t, "running", decode[contract.Session](t, string(sessions[0].Value)).Status)
	// The round key holds the header that opening and proposing wrote; updates
	// and verdicts have keys of their own, and the phases they make are derived.
	rounds := decode[[]contract.HistoryEntry](t, l.ok(nodeA, "History", "round", "s1", "1"))
	require.Len(t, rounds, 2)
	var phases []string
	for _, entry := range rounds {
		header := decode[contract.Round](t, string(entry.Value))
		require.Empty(t, header.Updates)
		phases = append(phases, header.Phase)
	}
	require.Equal(t, []string{"endorsing", "collecting"}, phases)
	require.Equal(t, "final", l.round("s1", 1).Phase)
}

func TestAdapterLineage(t *testing.T) {
	l := newLedger(t)
	p := l.session("s1", 3, 1, nodeA, nodeB, nodeC)
	l.submitAll("s1", 1, p...)
	l.ok(p[1], "ProposeAggregate", "s1", "1", proposal(t, hash("rejected agg"), l.round("s1", 1)))
	l.ok(p[0], "EndorseAggregate", "s1", "1", hash("rejected agg"), "false", "mismatch")
	l.ok(p[2], "ProposeAggregate", "s1", "1", proposal(t, hash("final agg"), l.round("s1", 1)))
	l.ok(p[0], "EndorseAggregate", "s1", "1", hash("final agg"), "true", "")
	l.ok(p[1], "EndorseAggregate", "s1", "1", hash("final agg"), "true", "")

	update := decode[contract.Lineage](t, l.ok(outside, "AdapterLineage", updateHash("s1", 1, p[0])))
	require.Equal(t, contract.Lineage{
		Endorsements: map[string]contract.Endorsement{}, Inputs: []contract.Input{}, Kind: "update", Producer: p[0].nodeID(),
		Round: 1, SessionID: "s1", SHA256: updateHash("s1", 1, p[0]), Weights: map[string]float64{},
	}, update)

	final := decode[contract.Lineage](t, l.ok(outside, "AdapterLineage", hash("final agg")))
	require.Equal(t, "aggregate", final.Kind)
	require.Equal(t, p[2].nodeID(), final.Producer)
	require.True(t, final.Final)
	require.Len(t, final.Inputs, 3)
	require.Equal(t, "fedavg", final.Rule.Name)
	require.InDelta(t, 1.0/3, final.Weights[p[0].nodeID()], 1e-12)
	require.Len(t, final.Endorsements, 3)

	rejected := decode[contract.Lineage](t, l.ok(outside, "AdapterLineage", hash("rejected agg")))
	require.False(t, rejected.Final)
	require.Equal(t, p[1].nodeID(), rejected.Producer)
	require.False(t, rejected.Endorsements[p[0].nodeID()].Accept)

	state := decode[contract.Lineage](t, l.ok(outside, "AdapterLineage", hash("state "+hash("final agg"))))
	require.Equal(t, "optimizerState", state.Kind)
	require.True(t, state.Final)
	require.Equal(t, p[2].nodeID(), state.Producer)

	l.fails(contract.CodeNotFound, outside, "AdapterLineage", hash("unknown"))
	l.fails(contract.CodeBadArgument, outside, "AdapterLineage", "ABC")
}

func TestExportTrail(t *testing.T) {
	l := newLedger(t)
	p := l.session("s1", 2, 2, nodeA, nodeB)
	l.submitAll("s1", 1, p...)
	l.ok(p[1], "ProposeAggregate", "s1", "1", proposal(t, hash("agg"), l.round("s1", 1)))
	l.ok(p[0], "EndorseAggregate", "s1", "1", hash("agg"), "true", "")
	l.ok(admin1, "CreateSession", encode(t, sessionSpec("s10", 2, 1, nodeA, nodeB)))
	l.ok(admin1, "StartSession", "s10")

	trail := decode[contract.Trail](t, l.ok(outside, "ExportTrail", "s1"))
	require.Equal(t, "s1", trail.Session.SessionID)
	require.Len(t, trail.Rounds, 2)
	require.Equal(t, []int{1, 2}, []int{trail.Rounds[0].Round, trail.Rounds[1].Round})
	require.Equal(t, "final", trail.Rounds[0].Phase)
	require.Equal(t, []string{p[0].nodeID(), p[1].nodeID()}, []string{trail.Nodes[0].NodeID, trail.Nodes[1].NodeID})
	l.fails(contract.CodeNotFound, outside, "ExportTrail", "s2")
}

func TestResultsUseEmptyListsAndExplicitNulls(t *testing.T) {
	l := newLedger(t)
	l.session("s1", 2, 1, nodeA, nodeB)
	var raw map[string]json.RawMessage
	require.NoError(t, json.Unmarshal([]byte(l.ok(nodeA, "GetRound", "s1", "1")), &raw))
	require.Equal(t, "null", string(raw["proposal"]))
	require.Equal(t, "[]", string(raw["rejectedProposals"]))
	require.Equal(t, "{}", string(raw["updates"]))
	require.Equal(t, "{}", string(raw["endorsements"]))
	l.fails(contract.CodeBadArgument, nodeA, "GetRound", "s1", "first")
	l.fails(contract.CodeNotFound, nodeA, "GetRound", "nope", "1")
}

// The same transactions must leave byte-identical state on every peer.
func TestReplayingTransactionsGivesIdenticalState(t *testing.T) {
	run := func() (*ledger, []string) {
		l := newLedger(t)
		p := l.session("s1", 2, 2, nodeC, nodeA, nodeB)
		l.submitAll("s1", 1, p...)
		outs := []string{l.ok(p[1], "ProposeAggregate", "s1", "1", proposal(t, hash("agg"), l.round("s1", 1)))}
		outs = append(outs, l.ok(p[2], "EndorseAggregate", "s1", "1", hash("agg"), "true", ""))
		outs = append(outs, l.ok(nodeA, "ExportTrail", "s1"), l.ok(nodeA, "ListNodes"))
		return l, outs
	}
	first, firstOuts := run()
	second, secondOuts := run()
	require.Equal(t, first.stub.committed, second.stub.committed)
	require.Equal(t, firstOuts, secondOuts)
	require.Equal(t, first.events, second.events)
}

func TestLedgerFailuresAreInternalErrorsWithTheirCause(t *testing.T) {
	l := newLedger(t)
	broken := errors.New("disk gone")
	l.stub.getStateErr = broken
	_, err := l.call(nodeA, "GetSession", "s1")
	require.ErrorIs(t, err, broken)
	require.Equal(t, contract.CodeInternal, contract.CodeOf(err))
	require.Equal(t, contract.Code(""), contract.CodeOf(broken))
}
