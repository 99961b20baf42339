package contract_test

import (
	"testing"
	"time"

	"fedlora/chaincode/contract"

	"github.com/stretchr/testify/require"
)

// The submitter chooses a transaction's timestamp; these are the attacks of a
// member who dates its transactions to suit itself (security review, H1).

func TestATimeoutDatedAheadCannotFailAFreshSession(t *testing.T) {
	l := newLedger(t)
	p := l.session("s1", 2, 3, nodeA, nodeB, nodeC)
	l.dated(24*time.Hour, func() {
		l.fails(contract.CodeClockSkew, p[2], "ReportTimeout", "s1", "1")
	})
	require.Equal(t, "running", decode[contract.Session](t, l.ok(nodeA, "GetSession", "s1")).Status)
}

func TestForgedTimeoutsCannotRotateTheAggregatorRole(t *testing.T) {
	l := newLedger(t)
	p := l.session("s1", 2, 3, nodeA, nodeB, nodeC)
	l.submitAll("s1", 1, p...)
	elected := l.round("s1", 1).Aggregator
	for i := 1; i <= 3; i++ {
		l.dated(time.Duration(i)*time.Hour, func() {
			l.fails(contract.CodeClockSkew, p[0], "ReportTimeout", "s1", "1")
		})
	}
	require.Equal(t, elected, l.round("s1", 1).Aggregator)
	require.Equal(t, 0, l.round("s1", 1).Attempt)
}

func TestFarFutureTimestampsNeitherStallNorPoisonARound(t *testing.T) {
	for _, when := range []time.Time{
		time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC),
	} {
		l := newLedger(t)
		p := l.session("s1", 2, 3, nodeA, nodeB, nodeC)
		l.submitAll("s1", 1, p...)
		l.dated(when.Sub(l.now), func() {
			l.fails(contract.CodeClockSkew, p[0], "ReportTimeout", "s1", "1")
		})
		// The round's deadline is still readable and honest transactions go on.
		round := l.round("s1", 1)
		l.ok(findNode(p, round.Aggregator), "ProposeAggregate", "s1", "1", proposal(t, hash("agg"), round))
	}
}

func TestABackDatedUpdateIsRefusedAfterTheDeadline(t *testing.T) {
	l := newLedger(t)
	p := l.session("s1", 2, 3, nodeA, nodeB, nodeC)
	l.submitAll("s1", 1, p[0], p[1])
	l.advance(601 * time.Second) // the collect deadline (600 s) has passed
	l.dated(-2*time.Minute, func() {
		l.fails(contract.CodeClockSkew, p[2], "SubmitUpdate", "s1", "1", updateHash("s1", 1, p[2]), "100", "{}")
	})
	l.fails(contract.CodeDeadlinePassed, p[2], "SubmitUpdate", "s1", "1", updateHash("s1", 1, p[2]), "100", "{}")
}

func TestClocksWithinTheSkewStillWork(t *testing.T) {
	l := newLedger(t)
	p := l.session("s1", 2, 3, nodeA, nodeB, nodeC)
	l.dated(contract.MaxClockSkew, func() { l.submitAll("s1", 1, p[0]) })
	l.dated(-contract.MaxClockSkew, func() { l.submitAll("s1", 1, p[1]) })
	require.Len(t, l.round("s1", 1).Updates, 2)
}

func findNode(ids []identity, nodeID string) identity {
	for _, id := range ids {
		if id.nodeID() == nodeID {
			return id
		}
	}
	panic("no participant " + nodeID)
}
