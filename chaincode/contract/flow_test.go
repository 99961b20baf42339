package contract_test

import (
	"fmt"
	"testing"
	"time"

	"fedlora/chaincode/contract"

	"github.com/stretchr/testify/require"
)

// Four participants sorted: Org1MSP/node-a, Org1MSP/node-d, Org2MSP/node-b, Org3MSP/node-c.
// Round 1 attempt 0 elects index 1 (node-d); attempt 1 elects index 2 (node-b).
// Quorum must be a majority: 3 or 4 of 4. Each verdict emits its own event;
// the round's phase follows from the verdicts when it is read.
func TestQuorumArithmetic(t *testing.T) {
	cases := []struct {
		name     string
		quorum   int
		verdicts []bool   // from the non-aggregators, in sorted order: node-a, node-b, node-c
		phases   []string // the round's phase after each verdict
	}{
		{"quorum 3 needs two more acceptances", 3, []bool{true, true}, []string{"endorsing", "final"}},
		{"quorum 3 after a rejection", 3, []bool{true, false, true}, []string{"endorsing", "endorsing", "final"}},
		{"quorum 3 out of reach after two rejections", 3, []bool{false, false}, []string{"endorsing", "aggregating"}},
		{"quorum 4 needs everyone", 4, []bool{true, true, true}, []string{"endorsing", "endorsing", "final"}},
		{"quorum 4 fails over on one rejection", 4, []bool{false}, []string{"aggregating"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := newLedger(t)
			p := l.session("s1", tc.quorum, 2, nodeA, nodeB, nodeC, nodeD)
			l.submitAll("s1", 1, p...)
			require.Equal(t, nodeD.nodeID(), l.round("s1", 1).Aggregator)
			first := len(l.events)
			l.ok(nodeD, "ProposeAggregate", "s1", "1", proposal(t, hash("agg"), l.round("s1", 1)))
			others := []identity{p[0], p[2], p[3]}
			wantEvents := []string{"AggregateProposed"}
			var phases []string
			for i, accept := range tc.verdicts {
				l.ok(others[i], "EndorseAggregate", "s1", "1", hash("agg"), fmt.Sprint(accept), "checked")
				phases = append(phases, l.round("s1", 1).Phase)
				wantEvents = append(wantEvents, map[bool]string{true: "AggregateEndorsed", false: "AggregateRejected"}[accept])
			}
			var names []string
			for _, event := range l.events[first:] {
				names = append(names, event.Event)
			}
			require.Equal(t, wantEvents, names)
			require.Equal(t, tc.phases, phases)
			round := l.round("s1", 1)
			if round.Phase == "final" {
				require.Equal(t, hash("agg"), round.FinalSHA256)
				require.Empty(t, round.PhaseDeadline)
				require.Equal(t, 2, decode[contract.Session](t, l.ok(nodeA, "GetSession", "s1")).CurrentRound)
			} else {
				require.Equal(t, 1, round.Attempt)
				require.Equal(t, nodeB.nodeID(), round.Aggregator)
				require.Equal(t, 1, decode[contract.Session](t, l.ok(nodeA, "GetSession", "s1")).CurrentRound)
			}
		})
	}
}

func TestRejectionMovesToTheNextAggregator(t *testing.T) {
	l := newLedger(t)
	p := l.session("s1", 3, 1, nodeA, nodeB, nodeC)
	l.submitAll("s1", 1, p...)
	l.ok(p[1], "ProposeAggregate", "s1", "1", proposal(t, hash("bad agg"), l.round("s1", 1)))
	l.advance(time.Minute)
	l.ok(p[2], "EndorseAggregate", "s1", "1", hash("bad agg"), "false", "hash differs from recomputation")
	require.Equal(t, contract.Event{
		Event: "AggregateRejected", SessionID: "s1", Round: 1, Phase: "endorsing", Attempt: 0, Aggregator: p[1].nodeID(),
		NodeID: p[2].nodeID(), SHA256: hash("bad agg"), TxID: l.lastTxID(),
	}, l.lastEvent())

	// Quorum 3 of 3 is out of reach: the round reads as failed over, from the rejection's time.
	round := l.round("s1", 1)
	require.Equal(t, "aggregating", round.Phase)
	require.Equal(t, 1, round.Attempt)
	require.Equal(t, p[2].nodeID(), round.Aggregator)
	require.Nil(t, round.Proposal)
	require.Empty(t, round.Endorsements)
	require.Equal(t, stamp(start.Add(time.Minute+300*time.Second)), round.PhaseDeadline)
	require.Len(t, round.RejectedProposals, 1)
	rejected := round.RejectedProposals[0]
	require.Equal(t, "rejected", rejected.Cause)
	require.Equal(t, stamp(start.Add(time.Minute)), rejected.RejectedAt)
	require.Equal(t, hash("bad agg"), rejected.SHA256)
	require.Equal(t, p[1].nodeID(), rejected.Aggregator)
	require.False(t, rejected.Endorsements[p[2].nodeID()].Accept)
	require.True(t, rejected.Endorsements[p[1].nodeID()].Accept)

	l.fails(contract.CodeNotAggregator, p[1], "ProposeAggregate", "s1", "1", proposal(t, hash("bad agg"), round))
	l.advance(time.Minute)
	proposed := decode[contract.Round](t, l.ok(p[2], "ProposeAggregate", "s1", "1", proposal(t, hash("good agg"), round)))
	// The proposal stores the rejected one as the round read it.
	require.Equal(t, round.RejectedProposals, proposed.RejectedProposals)
	require.Equal(t, proposed, l.round("s1", 1))
	// Verdicts on the old proposal do not carry over.
	l.ok(p[0], "EndorseAggregate", "s1", "1", hash("good agg"), "true", "")
	l.ok(p[1], "EndorseAggregate", "s1", "1", hash("good agg"), "true", "")
	require.Equal(t, "final", l.round("s1", 1).Phase)
	require.Equal(t, "completed", decode[contract.Session](t, l.ok(nodeA, "GetSession", "s1")).Status)
}

func TestReportTimeoutWhileCollecting(t *testing.T) {
	l := newLedger(t)
	p := l.session("s1", 2, 1, nodeA, nodeB, nodeC)
	l.submitAll("s1", 1, p[0], p[2])
	l.register(outside)
	l.fails(contract.CodeDeadlineNotPassed, p[1], "ReportTimeout", "s1", "1")
	l.advance(600 * time.Second)
	l.fails(contract.CodeDeadlineNotPassed, p[1], "ReportTimeout", "s1", "1")
	l.advance(time.Second)
	l.fails(contract.CodeNotParticipant, outside, "ReportTimeout", "s1", "1")
	l.fails(contract.CodeWrongRound, p[1], "ReportTimeout", "s1", "2")

	round := decode[contract.Round](t, l.ok(p[1], "ReportTimeout", "s1", "1"))
	require.Equal(t, "aggregating", round.Phase)
	require.Equal(t, p[1].nodeID(), round.Aggregator)
	require.Equal(t, stamp(start.Add(601*time.Second+300*time.Second)), round.PhaseDeadline)
	require.Equal(t, "AggregationStarted", l.lastEvent().Event)
	// The aggregator works with the updates that arrived.
	l.ok(p[1], "ProposeAggregate", "s1", "1", proposal(t, hash("agg"), round))
}

func TestTooFewUpdatesFailTheRoundAndSession(t *testing.T) {
	l := newLedger(t)
	p := l.session("s1", 2, 3, nodeA, nodeB, nodeC)
	l.submitAll("s1", 1, p[0])
	l.advance(601 * time.Second)

	round := decode[contract.Round](t, l.ok(p[2], "ReportTimeout", "s1", "1"))
	require.Equal(t, "failed", round.Phase)
	require.Equal(t, contract.Event{
		Event: "RoundFailed", SessionID: "s1", Round: 1, Phase: "failed", Aggregator: p[1].nodeID(), NodeID: p[2].nodeID(), TxID: l.lastTxID(),
	}, l.lastEvent())
	failed := decode[contract.Session](t, l.ok(nodeA, "GetSession", "s1"))
	require.Equal(t, "failed", failed.Status)
	require.Equal(t, "round 1: 1 of 3 participants submitted an update before the collect deadline; quorum is 2", failed.FailureReason)
	l.fails(contract.CodeWrongPhase, p[1], "SubmitUpdate", "s1", "1", updateHash("s1", 1, p[1]), "1", "{}")
	l.fails(contract.CodeWrongPhase, p[1], "ReportTimeout", "s1", "1")
}

func TestTimeoutFailoverRotatesThroughEveryParticipant(t *testing.T) {
	l := newLedger(t)
	p := l.session("s1", 2, 1, nodeA, nodeB, nodeC)
	l.submitAll("s1", 1, p...)
	// Aggregating timeouts: attempts 1, 2, 3 elect index (1+a) mod 3 = 2, 0, 1.
	for _, want := range []identity{p[2], p[0], p[1]} {
		l.advance(301 * time.Second)
		round := decode[contract.Round](t, l.ok(p[0], "ReportTimeout", "s1", "1"))
		require.Equal(t, want.nodeID(), round.Aggregator)
		require.Equal(t, "aggregating", round.Phase)
		require.Empty(t, round.RejectedProposals)
		require.Equal(t, "AggregatorFailedOver", l.lastEvent().Event)
	}
	require.Equal(t, 3, l.round("s1", 1).Attempt)

	// An endorsing timeout retires the proposal with cause "timeout".
	l.ok(p[1], "ProposeAggregate", "s1", "1", proposal(t, hash("slow agg"), l.round("s1", 1)))
	l.fails(contract.CodeDeadlineNotPassed, p[0], "ReportTimeout", "s1", "1")
	l.advance(121 * time.Second)
	round := decode[contract.Round](t, l.ok(p[0], "ReportTimeout", "s1", "1"))
	require.Equal(t, 4, round.Attempt)
	require.Equal(t, p[2].nodeID(), round.Aggregator)
	require.Len(t, round.RejectedProposals, 1)
	require.Equal(t, "timeout", round.RejectedProposals[0].Cause)
	require.Equal(t, 3, round.RejectedProposals[0].Attempt)
}

func TestRoundsAdvanceAndOldRoundsCannotBeReplayed(t *testing.T) {
	l := newLedger(t)
	p := l.session("s1", 2, 2, nodeA, nodeB, nodeC)
	l.submitAll("s1", 1, p...)
	l.ok(p[1], "ProposeAggregate", "s1", "1", proposal(t, hash("agg 1"), l.round("s1", 1)))
	l.advance(30 * time.Second)
	l.ok(p[0], "EndorseAggregate", "s1", "1", hash("agg 1"), "true", "")
	require.Equal(t, contract.Event{
		Event: "AggregateEndorsed", SessionID: "s1", Round: 1, Phase: "endorsing", Aggregator: p[1].nodeID(), NodeID: p[0].nodeID(), SHA256: hash("agg 1"), TxID: l.lastTxID(),
	}, l.lastEvent())
	require.Equal(t, "final", l.round("s1", 1).Phase)

	// The next round opened when the deciding verdict was given.
	next := l.round("s1", 2)
	require.Equal(t, "collecting", next.Phase)
	require.Equal(t, p[2].nodeID(), next.Aggregator) // (2 + 0) mod 3
	require.Equal(t, stamp(start.Add(30*time.Second)), next.OpenedAt)
	require.Equal(t, stamp(start.Add(630*time.Second)), next.PhaseDeadline)
	require.Equal(t, 2, decode[contract.Session](t, l.ok(nodeA, "GetSession", "s1")).CurrentRound)
	l.fails(contract.CodeNotFound, nodeA, "GetRound", "s1", "3")

	l.fails(contract.CodeWrongRound, p[1], "ProposeAggregate", "s1", "1", proposal(t, hash("agg 1"), l.round("s1", 1)))
	l.fails(contract.CodeWrongRound, p[0], "SubmitUpdate", "s1", "1", hash("replayed"), "1", "{}")
	l.fails(contract.CodeWrongRound, p[0], "ReportTimeout", "s1", "1")
	l.fails(contract.CodeWrongRound, p[0], "SubmitUpdate", "s1", "3", hash("early"), "1", "{}")
	// Re-submitting last round's update bytes as a new update is a replay too.
	l.fails(contract.CodeDuplicate, p[0], "SubmitUpdate", "s1", "2", updateHash("s1", 1, p[0]), "1", "{}")
	l.fails(contract.CodeDuplicate, p[0], "SubmitUpdate", "s1", "2", hash("agg 1"), "1", "{}")

	// Round 2 takes updates; once its header is written, round 1 takes nothing more.
	l.submitAll("s1", 2, p...)
	l.ok(p[2], "ProposeAggregate", "s1", "2", proposal(t, hash("agg 2"), l.round("s1", 2)))
	l.fails(contract.CodeWrongRound, p[2], "EndorseAggregate", "s1", "1", hash("agg 1"), "true", "")
	sessions := decode[[]contract.HistoryEntry](t, l.ok(nodeA, "History", "session", "s1"))
	require.Equal(t, 2, decode[contract.Session](t, string(sessions[0].Value)).CurrentRound, "the proposal stores the session's current round")
}

func TestSessionCompletesAfterItsLastRound(t *testing.T) {
	l := newLedger(t)
	p := l.session("s1", 2, 2, nodeA, nodeB)
	for _, step := range []struct {
		round                int
		aggregator, endorser identity
	}{{1, p[1], p[0]}, {2, p[0], p[1]}} {
		agg := hash(fmt.Sprint("agg ", step.round))
		l.submitAll("s1", step.round, p...)
		l.ok(step.aggregator, "ProposeAggregate", "s1", fmt.Sprint(step.round), proposal(t, agg, l.round("s1", step.round)))
		l.ok(step.endorser, "EndorseAggregate", "s1", fmt.Sprint(step.round), agg, "true", "")
	}
	require.Equal(t, contract.Event{
		Event: "AggregateEndorsed", SessionID: "s1", Round: 2, Phase: "endorsing", Aggregator: p[0].nodeID(), NodeID: p[1].nodeID(), SHA256: hash("agg 2"), TxID: l.lastTxID(),
	}, l.lastEvent())
	session := decode[contract.Session](t, l.ok(nodeA, "GetSession", "s1"))
	require.Equal(t, "completed", session.Status)
	require.Equal(t, hash("agg 2"), session.FinalAdapterSHA256)
	require.Equal(t, 2, session.CurrentRound)
	require.Equal(t, []contract.Session{session}, decode[[]contract.Session](t, l.ok(nodeA, "ListSessions")))
	require.Equal(t, []contract.Session{session}, decode[contract.Page[contract.Session]](t, l.ok(nodeA, "ListSessionsPage", "10", "")).Items)
	l.fails(contract.CodeNotFound, nodeA, "GetRound", "s1", "3")
	l.fails(contract.CodeWrongPhase, p[0], "SubmitUpdate", "s1", "2", hash("more"), "1", "{}")
	l.fails(contract.CodeWrongPhase, p[0], "ReportTimeout", "s1", "2")
	l.fails(contract.CodeWrongPhase, p[0], "SubmitUpdate", "s1", "3", hash("more"), "1", "{}")
}

func TestDeactivatedParticipantCannotAct(t *testing.T) {
	l := newLedger(t)
	p := l.session("s1", 2, 1, nodeA, nodeB)
	l.ok(admin1, "DeactivateNode", nodeA.nodeID())
	msg := l.fails(contract.CodeNotRegistered, nodeA, "SubmitUpdate", "s1", "1", updateHash("s1", 1, nodeA), "1", "{}")
	require.Contains(t, msg, "inactive")
	l.ok(p[1], "SubmitUpdate", "s1", "1", updateHash("s1", 1, p[1]), "1", "{}")
}
