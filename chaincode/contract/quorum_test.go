package contract_test

import (
	"fmt"
	"testing"

	"fedlora/chaincode/contract"

	"github.com/stretchr/testify/require"
)

// A dishonest org must not decide a round by itself: not by the aggregator's
// own proposal, not by node identities it mints, not by flooding an open
// session (security review, M3).

// Sorted: Org1MSP/node-a, Org1MSP/node-d, Org2MSP/node-b; round 1 elects node-d.
func oneOrgMajoritySession(t *testing.T) *ledger {
	l := newLedger(t)
	l.session("s1", 2, 1, nodeA, nodeB, nodeD)
	l.submitAll("s1", 1, nodeA, nodeB, nodeD)
	require.Equal(t, nodeD.nodeID(), l.round("s1", 1).Aggregator)
	l.ok(nodeD, "ProposeAggregate", "s1", "1", proposal(t, hash("agg"), l.round("s1", 1)))
	return l
}

func TestTwoNodesOfOneOrgCannotFinaliseARound(t *testing.T) {
	l := oneOrgMajoritySession(t)
	l.ok(nodeA, "EndorseAggregate", "s1", "1", hash("agg"), "true", "")
	require.Equal(t, "endorsing", l.round("s1", 1).Phase, "a quorum from one org must not be final")

	l.ok(nodeB, "EndorseAggregate", "s1", "1", hash("agg"), "true", "")
	require.Equal(t, "final", l.round("s1", 1).Phase)
	require.Equal(t, "completed", decode[contract.Session](t, l.ok(nodeA, "GetSession", "s1")).Status)
}

func TestARejectionByTheOnlyOtherOrgFailsTheProposalOver(t *testing.T) {
	l := oneOrgMajoritySession(t)
	// Two Org1 nodes could still make the quorum of 2, but not from two orgs.
	l.ok(nodeB, "EndorseAggregate", "s1", "1", hash("agg"), "false", "recomputed hash differs")
	round := l.round("s1", 1)
	require.Equal(t, "aggregating", round.Phase)
	require.Equal(t, 1, round.Attempt)
	require.Equal(t, "AggregateRejected", l.lastEvent().Event)
}

func TestTheAggregatorAloneNeverFinalisesARound(t *testing.T) {
	l := newLedger(t)
	p := l.session("s1", 2, 1, nodeA, nodeB, nodeC)
	l.fails(contract.CodeBadArgument, admin1, "CreateSession", encode(t, sessionSpec("q1", 1, 1, nodeA, nodeB, nodeC)))
	l.submitAll("s1", 1, p...)
	round := decode[contract.Round](t, l.ok(p[1], "ProposeAggregate", "s1", "1", proposal(t, hash("agg"), l.round("s1", 1))))
	require.Equal(t, "endorsing", round.Phase)
	require.Equal(t, "AggregateProposed", l.lastEvent().Event)
}

func TestQuorumMustBeAMajorityOfTheListedParticipants(t *testing.T) {
	l := newLedger(t)
	for _, tc := range []struct {
		quorum       int
		participants []identity
		ok           bool
	}{
		{1, []identity{nodeA, nodeB}, false},
		{2, []identity{nodeA, nodeB}, true},
		{2, []identity{nodeA, nodeB, nodeC, nodeD}, false},
		{3, []identity{nodeA, nodeB, nodeC, nodeD}, true},
		{3, []identity{nodeA, nodeB, nodeC, nodeD, nodeE}, true},
	} {
		id := fmt.Sprintf("q%d-of-%d", tc.quorum, len(tc.participants))
		spec := encode(t, sessionSpec(id, tc.quorum, 1, tc.participants...))
		if tc.ok {
			l.ok(admin1, "CreateSession", spec)
		} else {
			require.Contains(t, l.fails(contract.CodeBadArgument, admin1, "CreateSession", spec), "not a majority")
		}
	}
}

func TestParticipantsMustComeFromTwoOrgs(t *testing.T) {
	l := newLedger(t)
	msg := l.fails(contract.CodeBadArgument, admin1, "CreateSession", encode(t, sessionSpec("s1", 2, 1, nodeA, nodeD)))
	require.Contains(t, msg, "from 1 org")

	l.register(nodeA, nodeD)
	l.ok(admin1, "CreateSession", encode(t, sessionSpec("joined", 1, 1)))
	l.ok(nodeA, "JoinSession", "joined")
	l.ok(nodeD, "JoinSession", "joined")
	l.fails(contract.CodeBadArgument, admin1, "StartSession", "joined")
}

func TestAJoinSessionsQuorumIsRaisedToAMajorityAtStart(t *testing.T) {
	l := newLedger(t)
	l.register(nodeA, nodeB, nodeC, nodeD, nodeE)
	l.ok(admin1, "CreateSession", encode(t, sessionSpec("s1", 1, 1)))
	for _, node := range []identity{nodeA, nodeB, nodeC, nodeD, nodeE} {
		l.ok(node, "JoinSession", "s1")
	}
	session := decode[contract.Session](t, l.ok(admin1, "StartSession", "s1"))
	require.Equal(t, 3, session.Quorum)
}

func TestAllowedOrgsRestrictWhoMayJoin(t *testing.T) {
	l := newLedger(t)
	l.register(nodeA, nodeB, nodeC)
	spec := sessionSpec("s1", 2, 1)
	spec["allowedOrgs"] = []string{"Org2MSP", "Org1MSP"}
	session := decode[contract.Session](t, l.ok(admin1, "CreateSession", encode(t, spec)))
	require.Equal(t, []string{"Org1MSP", "Org2MSP"}, session.AllowedOrgs)

	msg := l.fails(contract.CodeNotParticipant, nodeC, "JoinSession", "s1")
	require.Contains(t, msg, "Org1MSP, Org2MSP")
	l.ok(nodeA, "JoinSession", "s1")
	l.ok(nodeB, "JoinSession", "s1")

	for name, mutate := range map[string]func(map[string]any){
		"one org":        func(s map[string]any) { s["allowedOrgs"] = []string{"Org1MSP"} },
		"a node id":      func(s map[string]any) { s["allowedOrgs"] = []string{"Org1MSP", nodeB.nodeID()} },
		"with a list":    func(s map[string]any) { s["participants"] = []string{nodeA.nodeID(), nodeB.nodeID()} },
		"negative share": func(s map[string]any) { s["maxNodesPerOrg"] = -1 },
		"share with a list": func(s map[string]any) {
			s["allowedOrgs"] = nil
			s["maxNodesPerOrg"] = 1
			s["participants"] = []string{nodeA.nodeID(), nodeB.nodeID()}
		},
		"an org named twice": func(s map[string]any) { s["allowedOrgs"] = []string{"Org1MSP", "Org1MSP"} },
	} {
		bad := sessionSpec("bad", 2, 1)
		bad["allowedOrgs"] = []string{"Org1MSP", "Org2MSP"}
		mutate(bad)
		require.NotEmpty(t, l.fails(contract.CodeBadArgument, admin1, "CreateSession", encode(t, bad)), name)
	}
}

func TestMaxNodesPerOrgBoundsOneOrgsShare(t *testing.T) {
	l := newLedger(t)
	l.register(nodeA, nodeB, nodeD)
	spec := sessionSpec("s1", 2, 1)
	spec["maxNodesPerOrg"] = 1
	l.ok(admin1, "CreateSession", encode(t, spec))
	l.ok(nodeA, "JoinSession", "s1")
	msg := l.fails(contract.CodeLimitExceeded, nodeD, "JoinSession", "s1")
	require.Contains(t, msg, "Org1MSP")
	l.ok(nodeB, "JoinSession", "s1")
}

func TestAnOpenSessionAdmitsAtMostAHundredNodes(t *testing.T) {
	l := newLedger(t)
	l.ok(admin1, "CreateSession", encode(t, sessionSpec("s1", 1, 1)))
	for i := 0; i < 101; i++ {
		minted := identity{msp: fmt.Sprintf("Org%dMSP", 1+i%2), cn: fmt.Sprintf("minted-%03d", i)}
		l.register(minted)
		if i < 100 {
			l.ok(minted, "JoinSession", "s1")
		} else {
			l.fails(contract.CodeLimitExceeded, minted, "JoinSession", "s1")
		}
	}
	spec := sessionSpec("listed", 51, 1)
	ids := []string{}
	for i := 0; i < 101; i++ {
		ids = append(ids, fmt.Sprintf("Org%dMSP/listed-%03d", 1+i%2, i))
	}
	spec["participants"] = ids
	l.fails(contract.CodeBadArgument, admin1, "CreateSession", encode(t, spec))
}
