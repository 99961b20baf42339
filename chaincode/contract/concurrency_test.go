package contract_test

import (
	"fmt"
	"testing"
	"time"

	"fedlora/chaincode/contract"

	"github.com/stretchr/testify/require"
)

// Updates and verdicts have keys of their own, and the phase changes they make
// are derived when the round is read, so that the participants' transactions
// of one block do not conflict (performance issue, part 1). inBlock validates
// a block as Fabric's committer does (MVCC and phantom reads).

// five participants of three orgs, sorted: node-a, node-d (Org1), node-b,
// node-e (Org2), node-c (Org3); round 1 elects node-d, round 2 node-b.
func fiveNodeSession(t *testing.T, quorum, rounds int) (*ledger, []identity) {
	l := newLedger(t)
	return l, l.session("s1", quorum, rounds, nodeA, nodeB, nodeC, nodeD, nodeE)
}

func TestUpdatesAndVerdictsOfOneBlockDoNotConflict(t *testing.T) {
	l, p := fiveNodeSession(t, 3, 2)
	invalid := l.inBlock(func() { l.submitAll("s1", 1, p...) })
	require.Empty(t, invalid)
	round := l.round("s1", 1)
	require.Equal(t, "aggregating", round.Phase)
	require.Len(t, round.Updates, 5)

	l.ok(p[1], "ProposeAggregate", "s1", "1", proposal(t, hash("agg 1"), round))
	invalid = l.inBlock(func() {
		for _, node := range []identity{p[0], p[2], p[3], p[4]} {
			l.ok(node, "EndorseAggregate", "s1", "1", hash("agg 1"), "true", "")
		}
	})
	require.Empty(t, invalid)
	round = l.round("s1", 1)
	require.Equal(t, "final", round.Phase)
	require.Len(t, round.Endorsements, 5, "every verdict of the block is recorded")

	// The next round's updates read the previous round's verdicts, which nobody writes any more.
	require.Empty(t, l.inBlock(func() { l.submitAll("s1", 2, p...) }))
	require.Equal(t, "aggregating", l.round("s1", 2).Phase)
}

func TestTransactionsThatReadTheWholeRoundStillConflict(t *testing.T) {
	// A timeout report and a last update of one block: only the first stands.
	l, p := fiveNodeSession(t, 3, 1)
	l.submitAll("s1", 1, p[:4]...)
	l.advance(600 * time.Second) // the deadline itself still admits an update
	invalid := l.inBlock(func() {
		l.dated(time.Second, func() { l.ok(p[0], "ReportTimeout", "s1", "1") })
		l.ok(p[4], "SubmitUpdate", "s1", "1", updateHash("s1", 1, p[4]), "100", "{}")
	})
	require.Equal(t, []string{"SubmitUpdate"}, invalid)
	require.Len(t, l.round("s1", 1).Updates, 4)

	// A proposal after a failover by verdicts conflicts with a verdict of the same block.
	l, p = fiveNodeSession(t, 5, 1)
	l.submitAll("s1", 1, p...)
	l.ok(p[1], "ProposeAggregate", "s1", "1", proposal(t, hash("bad"), l.round("s1", 1)))
	l.ok(p[0], "EndorseAggregate", "s1", "1", hash("bad"), "false", "differs")
	next := l.round("s1", 1)
	require.Equal(t, p[2].nodeID(), next.Aggregator)
	invalid = l.inBlock(func() {
		l.ok(p[3], "EndorseAggregate", "s1", "1", hash("bad"), "false", "differs")
		l.ok(p[2], "ProposeAggregate", "s1", "1", proposal(t, hash("good"), next))
	})
	require.Equal(t, []string{"ProposeAggregate"}, invalid)
	l.ok(p[2], "ProposeAggregate", "s1", "1", proposal(t, hash("good"), next))
	rejected := l.round("s1", 1).RejectedProposals
	require.Len(t, rejected, 1)
	require.Len(t, rejected[0].Endorsements, 3, "the retired proposal keeps the verdicts recorded before it was stored")
}

func TestAVerdictAfterTheDecisionChangesNothingButItsRecord(t *testing.T) {
	l, p := fiveNodeSession(t, 3, 2)
	l.submitAll("s1", 1, p...)
	l.ok(p[1], "ProposeAggregate", "s1", "1", proposal(t, hash("agg"), l.round("s1", 1)))
	l.advance(10 * time.Second)
	l.ok(p[0], "EndorseAggregate", "s1", "1", hash("agg"), "true", "")
	l.advance(10 * time.Second)
	l.ok(p[2], "EndorseAggregate", "s1", "1", hash("agg"), "true", "") // node-d, node-a, node-b: final
	decided := l.round("s1", 2)
	require.Equal(t, stamp(start.Add(20*time.Second)), decided.OpenedAt)

	// The endorsers that were still working are not refused: their transactions
	// do not read the other verdicts. A late rejection cannot undo the decision,
	l.advance(5 * time.Second)
	l.ok(p[3], "EndorseAggregate", "s1", "1", hash("agg"), "false", "late and wrong")
	require.Equal(t, "final", l.round("s1", 1).Phase)
	require.Equal(t, decided, l.round("s1", 2))
	// and a late acceptance dated before the deciding verdict moves the
	// decision to the verdict that now completes the quorum: earlier by at
	// most the clock skew a transaction may have.
	l.advance(time.Second)
	l.dated(-20*time.Second, func() {
		l.ok(p[4], "EndorseAggregate", "s1", "1", hash("agg"), "true", "")
	})
	round := l.round("s1", 1)
	require.Equal(t, "final", round.Phase)
	require.Equal(t, hash("agg"), round.FinalSHA256)
	require.Len(t, round.Endorsements, 5)
	require.Equal(t, stamp(start.Add(10*time.Second)), l.round("s1", 2).OpenedAt)
	require.Equal(t, 2, decode[contract.Session](t, l.ok(nodeA, "GetSession", "s1")).CurrentRound)

	// Once the next round's header is written, the old round takes no verdict.
	l.submitAll("s1", 2, p...)
	l.ok(p[2], "ProposeAggregate", "s1", "2", proposal(t, hash("agg 2"), l.round("s1", 2)))
	l.fails(contract.CodeWrongRound, p[3], "EndorseAggregate", "s1", "1", hash("agg"), "true", "")
}

func TestADecisionIsNeverDatedBeforeItsProposal(t *testing.T) {
	l, p := fiveNodeSession(t, 3, 2)
	l.submitAll("s1", 1, p...)
	l.advance(10 * time.Second)
	l.ok(p[1], "ProposeAggregate", "s1", "1", proposal(t, hash("agg"), l.round("s1", 1)))
	l.advance(time.Second)
	// Three endorsers whose clocks run 5 s slow: their verdicts pass before the proposal's time.
	l.dated(-5*time.Second, func() {
		for _, node := range []identity{p[0], p[2], p[4]} {
			l.ok(node, "EndorseAggregate", "s1", "1", hash("agg"), "true", "")
		}
	})
	require.Equal(t, "final", l.round("s1", 1).Phase)
	require.Equal(t, stamp(start.Add(10*time.Second)), l.round("s1", 2).OpenedAt)
}

func TestAVerdictSeesOnlyTheHeaderAndItsOwnEntry(t *testing.T) {
	l, p := fiveNodeSession(t, 3, 1)
	l.submitAll("s1", 1, p...)
	l.ok(p[1], "ProposeAggregate", "s1", "1", proposal(t, hash("agg"), l.round("s1", 1)))
	l.ok(p[0], "EndorseAggregate", "s1", "1", hash("agg"), "true", "")
	l.fails(contract.CodeDuplicate, p[0], "EndorseAggregate", "s1", "1", hash("agg"), "true", "")
	l.fails(contract.CodeDuplicate, p[1], "EndorseAggregate", "s1", "1", hash("agg"), "true", "")
	returned := decode[contract.Round](t, l.ok(p[2], "EndorseAggregate", "s1", "1", hash("agg"), "true", ""))
	require.Equal(t, "endorsing", returned.Phase)
	require.Empty(t, returned.Updates)
	require.Equal(t, []string{p[1].nodeID(), p[2].nodeID()}, keys(returned.Endorsements))
	require.Equal(t, "AggregateEndorsed", l.lastEvent().Event)
	require.Equal(t, "final", l.round("s1", 1).Phase)
	// A refusal reads the whole round and names the derived cause.
	l.fails(contract.CodeWrongPhase, p[2], "EndorseAggregate", "s1", "1", hash("agg"), "true", "")
}

func TestATimeoutReportStoresTheRoundThatOpenedImplicitly(t *testing.T) {
	l, p := fiveNodeSession(t, 3, 2)
	l.submitAll("s1", 1, p...)
	l.ok(p[1], "ProposeAggregate", "s1", "1", proposal(t, hash("agg"), l.round("s1", 1)))
	for _, node := range []identity{p[0], p[2]} {
		l.ok(node, "EndorseAggregate", "s1", "1", hash("agg"), "true", "")
	}
	l.submitAll("s1", 2, p[:3]...)
	l.advance(601 * time.Second)
	round := decode[contract.Round](t, l.ok(p[4], "ReportTimeout", "s1", "2"))
	require.Equal(t, "aggregating", round.Phase)
	require.Len(t, round.Updates, 3)
	require.Equal(t, contract.Event{
		Event: "AggregationStarted", SessionID: "s1", Round: 2, Phase: "aggregating", Aggregator: p[2].nodeID(), NodeID: p[4].nodeID(), TxID: l.lastTxID(),
	}, l.lastEvent())
	history := decode[[]contract.HistoryEntry](t, l.ok(nodeA, "History", "session", "s1"))
	require.Equal(t, 2, decode[contract.Session](t, string(history[0].Value)).CurrentRound)
	trail := decode[contract.Trail](t, l.ok(outside, "ExportTrail", "s1"))
	require.Equal(t, []string{"final", "aggregating"}, []string{trail.Rounds[0].Phase, trail.Rounds[1].Phase})
	l.fails(contract.CodeWrongPhase, p[3], "SubmitUpdate", "s1", "2", updateHash("s1", 2, p[3]), "100", "{}")
}

func TestDerivedStateReadsTheSameEverywhere(t *testing.T) {
	l, p := fiveNodeSession(t, 3, 3)
	for r := 1; r <= 2; r++ {
		l.submitAll("s1", r, p...)
		round := l.round("s1", r)
		l.ok(byID(t, round.Aggregator, p), "ProposeAggregate", "s1", fmt.Sprint(r), proposal(t, hash(fmt.Sprint("agg ", r)), round))
		for _, node := range p {
			if node.nodeID() != round.Aggregator {
				l.ok(node, "EndorseAggregate", "s1", fmt.Sprint(r), hash(fmt.Sprint("agg ", r)), "true", "")
			}
		}
	}
	l.submitAll("s1", 3, p[:2]...)
	trail := decode[contract.Trail](t, l.ok(outside, "ExportTrail", "s1"))
	require.Len(t, trail.Rounds, 3)
	for _, round := range trail.Rounds {
		require.Equal(t, l.round("s1", round.Round), round, "round %d", round.Round)
	}
	require.Equal(t, decode[contract.Session](t, l.ok(nodeA, "GetSession", "s1")), trail.Session)
	require.Equal(t, 3, trail.Session.CurrentRound)
}
