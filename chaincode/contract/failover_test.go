package contract_test

import (
	"fmt"
	"testing"
	"time"

	"fedlora/chaincode/contract"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/stretchr/testify/require"
)

// Nothing grows without bound: a round's failovers, the rejected proposals
// they leave, and the answers of the list queries (security review, L6).

func TestARoundFailsAfterEveryParticipantAggregatedTwice(t *testing.T) {
	l := newLedger(t)
	p := l.session("s1", 2, 3, nodeA, nodeB, nodeC)
	l.submitAll("s1", 1, p...)
	// Attempts 0..5 of 3 participants: each proposes a bad aggregate that is rejected.
	for attempt := 0; attempt < 6; attempt++ {
		round := l.round("s1", 1)
		require.Equal(t, attempt, round.Attempt)
		aggregator := byID(t, round.Aggregator, p)
		bad := hash(fmt.Sprint("bad agg ", attempt))
		l.ok(aggregator, "ProposeAggregate", "s1", "1", proposal(t, bad, round))
		for _, other := range p {
			if other != aggregator && l.round("s1", 1).Phase == "endorsing" {
				l.ok(other, "EndorseAggregate", "s1", "1", bad, "false", "recomputed hash differs")
			}
		}
	}
	// The deciding rejection of the last attempt fails the round and the session.
	require.Equal(t, "AggregateRejected", l.lastEvent().Event)
	round := l.round("s1", 1)
	require.Equal(t, "failed", round.Phase)
	require.Len(t, round.RejectedProposals, 6)
	session := decode[contract.Session](t, l.ok(nodeA, "GetSession", "s1"))
	require.Equal(t, "failed", session.Status)
	require.Equal(t, "round 1: no aggregate passed in 6 attempts (the last ended by rejected); every participant had the aggregator role 2 times", session.FailureReason)
	l.fails(contract.CodeWrongPhase, p[0], "ReportTimeout", "s1", "1")
}

func TestTimeoutsEndARoundAfterItsLastAttemptToo(t *testing.T) {
	l := newLedger(t)
	p := l.session("s1", 2, 1, nodeA, nodeB)
	l.submitAll("s1", 1, p...)
	for attempt := 1; attempt <= 3; attempt++ {
		l.advance(301 * time.Second)
		l.ok(p[0], "ReportTimeout", "s1", "1")
		require.Equal(t, "AggregatorFailedOver", l.lastEvent().Event)
		require.Equal(t, attempt, l.round("s1", 1).Attempt)
	}
	l.advance(301 * time.Second)
	round := decode[contract.Round](t, l.ok(p[0], "ReportTimeout", "s1", "1"))
	require.Equal(t, "failed", round.Phase)
	require.Equal(t, "RoundFailed", l.lastEvent().Event)
	require.Contains(t, decode[contract.Session](t, l.ok(nodeA, "GetSession", "s1")).FailureReason, "ended by timeout")
}

func TestRejectedProposalsAreStoredOutsideTheRoundValue(t *testing.T) {
	l := newLedger(t)
	p := l.session("s1", 2, 1, nodeA, nodeB, nodeC)
	l.submitAll("s1", 1, p...)
	l.ok(p[1], "ProposeAggregate", "s1", "1", proposal(t, hash("bad"), l.round("s1", 1)))
	l.ok(p[0], "EndorseAggregate", "s1", "1", hash("bad"), "false", "differs")
	l.ok(p[2], "EndorseAggregate", "s1", "1", hash("bad"), "false", "differs")
	derived := l.round("s1", 1)
	require.Len(t, derived.RejectedProposals, 1)
	returned := decode[contract.Round](t, l.ok(p[2], "ProposeAggregate", "s1", "1", proposal(t, hash("good"), derived)))

	key, err := shim.CreateCompositeKey("round", []string{"s1", "000001"})
	require.NoError(t, err)
	stored := decode[contract.Round](t, string(l.stub.committed[key]))
	require.Empty(t, stored.RejectedProposals)
	require.Empty(t, stored.Updates)
	require.Empty(t, stored.Endorsements)
	rejected, err := shim.CreateCompositeKey("rejected", []string{"s1", "000001", "000000"})
	require.NoError(t, err)
	require.NotNil(t, l.stub.committed[rejected])
	require.Equal(t, derived.RejectedProposals, returned.RejectedProposals)
	require.Equal(t, returned, l.round("s1", 1), "a transaction that reads the whole round returns it as GetRound shows it")
	trail := decode[contract.Trail](t, l.ok(outside, "ExportTrail", "s1"))
	require.Equal(t, returned.RejectedProposals, trail.Rounds[0].RejectedProposals)
	require.Equal(t, map[string]bool{p[0].nodeID(): false, p[1].nodeID(): true, p[2].nodeID(): false}, acceptsOf(trail.Rounds[0].RejectedProposals[0]))
}

func acceptsOf(rejected contract.RejectedProposal) map[string]bool {
	accepts := map[string]bool{}
	for nodeID, verdict := range rejected.Endorsements {
		accepts[nodeID] = verdict.Accept
	}
	return accepts
}

func TestListQueriesComeInPages(t *testing.T) {
	l := newLedger(t)
	l.register(nodeC, nodeA, nodeE, nodeB, nodeD)
	var ids []string
	bookmark := ""
	for pages := 0; pages < 3; pages++ {
		page := decode[contract.Page[contract.Node]](t, l.ok(outside, "ListNodesPage", "2", bookmark))
		for _, node := range page.Items {
			ids = append(ids, node.NodeID)
		}
		bookmark = page.Bookmark
	}
	require.Empty(t, bookmark)
	require.Equal(t, []string{nodeA.nodeID(), nodeD.nodeID(), nodeB.nodeID(), nodeE.nodeID(), nodeC.nodeID()}, ids)

	l.ok(admin1, "CreateSession", encode(t, sessionSpec("s1", 1, 1)))
	sessions := decode[contract.Page[contract.Session]](t, l.ok(outside, "ListSessionsPage", "10", ""))
	require.Len(t, sessions.Items, 1)
	require.Empty(t, sessions.Bookmark)

	nodeBookmark := decode[contract.Page[contract.Node]](t, l.ok(outside, "ListNodesPage", "1", "")).Bookmark
	require.Contains(t, l.fails(contract.CodeBadArgument, outside, "ListSessionsPage", "1", nodeBookmark), "bookmark")
	for _, size := range []string{"0", "1001", "ten"} {
		l.fails(contract.CodeBadArgument, outside, "ListNodesPage", size, "")
	}
}

func TestUnpaginatedListsRefuseHugeAnswers(t *testing.T) {
	l := newLedger(t)
	// Written straight into the state: a thousand CreateSession calls would say nothing more.
	for i := 0; i <= 1000; i++ {
		id := fmt.Sprintf("s%04d", i)
		key, err := shim.CreateCompositeKey("session", []string{id})
		require.NoError(t, err)
		l.stub.committed[key] = []byte(`{"sessionId":"` + id + `"}`)
	}
	require.Contains(t, l.fails(contract.CodeLimitExceeded, outside, "ListSessions"), "page by page")
	page := decode[contract.Page[contract.Session]](t, l.ok(outside, "ListSessionsPage", "1000", ""))
	require.Len(t, page.Items, 1000)
	require.NotEmpty(t, page.Bookmark)
}

func TestATimeoutAfterAFailoverByVerdictsStoresBoth(t *testing.T) {
	l := newLedger(t)
	p := l.session("s1", 3, 1, nodeA, nodeB, nodeC)
	l.submitAll("s1", 1, p...)
	l.ok(p[1], "ProposeAggregate", "s1", "1", proposal(t, hash("bad"), l.round("s1", 1)))
	l.advance(10 * time.Second)
	l.ok(p[0], "EndorseAggregate", "s1", "1", hash("bad"), "false", "differs")
	// Attempt 1 (node-c) began with the rejection; its deadline is judged from then.
	l.advance(300 * time.Second)
	l.fails(contract.CodeDeadlineNotPassed, p[1], "ReportTimeout", "s1", "1")
	l.advance(time.Second)
	round := decode[contract.Round](t, l.ok(p[1], "ReportTimeout", "s1", "1"))
	require.Equal(t, 2, round.Attempt)
	require.Equal(t, p[0].nodeID(), round.Aggregator)
	require.Equal(t, "AggregatorFailedOver", l.lastEvent().Event)
	require.Len(t, round.RejectedProposals, 1)
	require.Equal(t, stamp(start.Add(10*time.Second)), round.RejectedProposals[0].RejectedAt)
	require.Equal(t, round, l.round("s1", 1))
	key, err := shim.CreateCompositeKey("rejected", []string{"s1", "000001", "000000"})
	require.NoError(t, err)
	require.NotNil(t, l.stub.committed[key], "the report stored the proposal the verdicts rejected")
}
