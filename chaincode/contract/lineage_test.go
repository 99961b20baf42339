package contract_test

import (
	"testing"

	"fedlora/chaincode/contract"

	"github.com/stretchr/testify/require"
)

// The adapter index is what `audit verify` answers from: nothing done in one
// session may re-point, block or claim another session's record, and a final
// record is never overwritten (security review, M4 and L2).

// finalIn runs a one-round session of nodeA and nodeB that finalises aggregate.
func (l *ledger) finalIn(sessionID, aggregate string) []identity {
	l.t.Helper()
	p := l.session(sessionID, 2, 1, nodeA, nodeB)
	l.submitAll(sessionID, 1, p...)
	l.ok(p[1], "ProposeAggregate", sessionID, "1", proposal(l.t, aggregate, l.round(sessionID, 1)))
	l.ok(p[0], "EndorseAggregate", sessionID, "1", aggregate, "true", "")
	return p
}

func TestAnUnrelatedAggregatorCannotRepointAFinalAdapter(t *testing.T) {
	l := newLedger(t)
	p := l.finalIn("s1", hash("deployed"))
	// The attacker aggregates session s2 and proposes the deployed adapter's hash.
	attacker := l.session("s2", 2, 1, nodeC, nodeE)
	l.submitAll("s2", 1, attacker...)
	l.ok(attacker[1], "ProposeAggregate", "s2", "1", proposal(t, hash("deployed"), l.round("s2", 1)))

	lineage := decode[contract.Lineage](t, l.ok(outside, "AdapterLineage", hash("deployed")))
	require.Equal(t, "s1", lineage.SessionID)
	require.Equal(t, p[1].nodeID(), lineage.Producer)
	require.True(t, lineage.Final)
	ownRecord := decode[contract.Lineage](t, l.ok(outside, "AdapterLineage", hash("deployed"), "s2"))
	require.Equal(t, attacker[1].nodeID(), ownRecord.Producer)
	require.False(t, ownRecord.Final)

	// Two final records of one hash are named, never answered with either.
	l.ok(attacker[0], "EndorseAggregate", "s2", "1", hash("deployed"), "true", "")
	msg := l.fails(contract.CodeBadArgument, outside, "AdapterLineage", hash("deployed"))
	require.Contains(t, msg, "s1, s2")
	require.Equal(t, "s1", decode[contract.Lineage](t, l.ok(outside, "AdapterLineage", hash("deployed"), "s1")).SessionID)
	l.fails(contract.CodeNotFound, outside, "AdapterLineage", hash("deployed"), "s3")
	l.fails(contract.CodeBadArgument, outside, "AdapterLineage", hash("deployed"), "s1", "extra")
}

func TestAnEarlierRoundsAggregateIsNeverOverwritten(t *testing.T) {
	l := newLedger(t)
	p := l.session("s1", 2, 2, nodeA, nodeB)
	l.submitAll("s1", 1, p...)
	l.ok(p[1], "ProposeAggregate", "s1", "1", proposal(t, hash("agg 1"), l.round("s1", 1)))
	l.ok(p[0], "EndorseAggregate", "s1", "1", hash("agg 1"), "true", "")

	l.submitAll("s1", 2, p...)
	msg := l.fails(contract.CodeDuplicate, p[0], "ProposeAggregate", "s1", "2", proposal(t, hash("agg 1"), l.round("s1", 2)))
	require.Contains(t, msg, "never overwritten")
	lineage := decode[contract.Lineage](t, l.ok(outside, "AdapterLineage", hash("agg 1")))
	require.Equal(t, 1, lineage.Round)
	require.Equal(t, p[1].nodeID(), lineage.Producer)
	require.True(t, lineage.Final)
}

func TestTheSameAggregateMayBeProposedAgainAfterAFailover(t *testing.T) {
	l := newLedger(t)
	p := l.session("s1", 2, 1, nodeA, nodeB, nodeC)
	l.submitAll("s1", 1, p...)
	l.ok(p[1], "ProposeAggregate", "s1", "1", proposal(t, hash("agg"), l.round("s1", 1)))
	l.ok(p[0], "EndorseAggregate", "s1", "1", hash("agg"), "false", "late")
	l.ok(p[2], "EndorseAggregate", "s1", "1", hash("agg"), "false", "late")
	require.Equal(t, p[2].nodeID(), l.round("s1", 1).Aggregator)

	l.ok(p[2], "ProposeAggregate", "s1", "1", proposal(t, hash("agg"), l.round("s1", 1)))
	l.ok(p[0], "EndorseAggregate", "s1", "1", hash("agg"), "true", "")
	lineage := decode[contract.Lineage](t, l.ok(outside, "AdapterLineage", hash("agg")))
	require.Equal(t, p[2].nodeID(), lineage.Producer)
	require.True(t, lineage.Final)
}

func TestAnUpdateFrontRunIntoAnotherSessionBlocksNothing(t *testing.T) {
	l := newLedger(t)
	victims := l.session("s1", 2, 1, nodeA, nodeB)
	attackers := l.session("s2", 2, 1, nodeC, nodeE)
	victimUpdate := updateHash("s1", 1, victims[1])
	// The attacker learns the victim's update hash and submits it first, in its own session.
	l.ok(attackers[0], "SubmitUpdate", "s2", "1", victimUpdate, "100", "{}")

	l.submitAll("s1", 1, victims...)
	lineage := decode[contract.Lineage](t, l.ok(outside, "AdapterLineage", victimUpdate, "s1"))
	require.Equal(t, victims[1].nodeID(), lineage.Producer)
	require.Contains(t, l.fails(contract.CodeBadArgument, outside, "AdapterLineage", victimUpdate), "s1, s2")
	// A replay inside a session is still refused.
	l.fails(contract.CodeDuplicate, attackers[1], "SubmitUpdate", "s2", "1", victimUpdate, "100", "{}")

	// Nor can an update claimed elsewhere block the victim's aggregate.
	l.ok(attackers[1], "SubmitUpdate", "s2", "1", hash("s1 aggregate"), "100", "{}")
	l.ok(victims[1], "ProposeAggregate", "s1", "1", proposal(t, hash("s1 aggregate"), l.round("s1", 1)))
	l.ok(victims[0], "EndorseAggregate", "s1", "1", hash("s1 aggregate"), "true", "")
	final := decode[contract.Lineage](t, l.ok(outside, "AdapterLineage", hash("s1 aggregate")))
	require.Equal(t, "aggregate", final.Kind)
	require.True(t, final.Final)
}
