package contract_test

import (
	"testing"
	"time"

	"fedlora/chaincode/contract"

	"github.com/stretchr/testify/require"
)

func TestCreateSessionNeedsAnOrgAdmin(t *testing.T) {
	l := newLedger(t)
	spec := encode(t, sessionSpec("s1", 1, 1))
	l.register(nodeA)
	l.fails(contract.CodeNotAdmin, nodeA, "CreateSession", spec)
	l.fails(contract.CodeNotMember, identity{msp: "OrdererMSP", cn: "Admin@example.com", admin: true}, "CreateSession", spec)
	l.fails(contract.CodeNotFound, nodeA, "GetSession", "s1")

	session := decode[contract.Session](t, l.ok(admin1, "CreateSession", spec))
	require.Equal(t, admin1.nodeID(), session.Creator)
	require.Equal(t, "Org1MSP", session.CreatorMSP)
	require.Equal(t, "open", session.Status)
	require.Equal(t, "join", session.Enrolment)
	require.Equal(t, 0, session.CurrentRound)
	require.Equal(t, []string{}, session.Participants)
	require.Equal(t, []string{"q_proj", "v_proj"}, session.Lora.TargetModules)
	require.Equal(t, stamp(start), session.CreatedAt)
	require.Equal(t, contract.Event{Event: "SessionCreated", SessionID: "s1", NodeID: admin1.nodeID(), TxID: l.lastTxID()}, l.lastEvent())
	l.fails(contract.CodeAlreadyExists, admin2, "CreateSession", spec)
}

func TestCreateSessionRejectsMalformedSpecs(t *testing.T) {
	cases := map[string]func(spec map[string]any){
		"bad session id":       func(s map[string]any) { s["sessionId"] = "a/b" },
		"empty session id":     func(s map[string]any) { s["sessionId"] = "" },
		"bad base model hash":  func(s map[string]any) { s["baseModelSha256"] = "1234" },
		"no base model":        func(s map[string]any) { s["baseModel"] = "" },
		"no dataset tag":       func(s map[string]any) { s["datasetTag"] = "" },
		"rank 0":               func(s map[string]any) { s["lora"].(map[string]any)["rank"] = 0 },
		"alpha 0":              func(s map[string]any) { s["lora"].(map[string]any)["alpha"] = 0 },
		"dropout 1":            func(s map[string]any) { s["lora"].(map[string]any)["dropout"] = 1 },
		"no target modules":    func(s map[string]any) { s["lora"].(map[string]any)["targetModules"] = []string{} },
		"repeated module":      func(s map[string]any) { s["lora"].(map[string]any)["targetModules"] = []string{"q", "q"} },
		"collect deadline 0":   func(s map[string]any) { s["deadlines"].(map[string]any)["collectSeconds"] = 0 },
		"endorse deadline -1":  func(s map[string]any) { s["deadlines"].(map[string]any)["endorseSeconds"] = -1 },
		"rounds 0":             func(s map[string]any) { s["rounds"] = 0 },
		"quorum 0":             func(s map[string]any) { s["quorum"] = 0 },
		"quorum above list":    func(s map[string]any) { s["quorum"] = 3; s["participants"] = []string{nodeA.nodeID(), nodeB.nodeID()} },
		"participant twice":    func(s map[string]any) { s["participants"] = []string{nodeA.nodeID(), nodeA.nodeID()} },
		"participant not node": func(s map[string]any) { s["participants"] = []string{"node-a"} },
		"no rule name":         func(s map[string]any) { s["rule"] = map[string]any{"name": ""} },
		"unknown field":        func(s map[string]any) { s["colour"] = "blue" },
		"string for number":    func(s map[string]any) { s["rounds"] = "3" },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			l := newLedger(t)
			spec := sessionSpec("s1", 1, 2)
			mutate(spec)
			l.fails(contract.CodeBadArgument, admin1, "CreateSession", encode(t, spec))
		})
	}
	l := newLedger(t)
	l.fails(contract.CodeBadArgument, admin1, "CreateSession", "not json")
	l.fails(contract.CodeBadArgument, admin1, "CreateSession", encode(t, sessionSpec("s1", 1, 1))+" {}")
}

func TestJoinSessionEnrolsActiveNodesWhileOpen(t *testing.T) {
	l := newLedger(t)
	l.register(nodeA, nodeB, nodeC)
	l.ok(admin1, "CreateSession", encode(t, sessionSpec("s1", 2, 1)))
	l.fails(contract.CodeNotFound, nodeA, "JoinSession", "nope")
	l.fails(contract.CodeNotRegistered, outside, "JoinSession", "s1")
	l.fails(contract.CodeNotMember, orderer, "JoinSession", "s1")
	l.ok(nodeC, "DeactivateNode", nodeC.nodeID())
	l.fails(contract.CodeNotRegistered, nodeC, "JoinSession", "s1")

	l.ok(nodeB, "JoinSession", "s1")
	session := decode[contract.Session](t, l.ok(nodeA, "JoinSession", "s1"))
	require.Equal(t, []string{nodeA.nodeID(), nodeB.nodeID()}, session.Participants)
	require.Equal(t, contract.Event{Event: "SessionJoined", SessionID: "s1", NodeID: nodeA.nodeID(), TxID: l.lastTxID()}, l.lastEvent())
	l.fails(contract.CodeDuplicate, nodeA, "JoinSession", "s1")

	l.ok(admin1, "StartSession", "s1")
	l.register(nodeD)
	l.fails(contract.CodeWrongPhase, nodeD, "JoinSession", "s1")
}

func TestJoinSessionWithAnExplicitList(t *testing.T) {
	l := newLedger(t)
	l.register(nodeA, nodeB, nodeC)
	l.ok(admin1, "CreateSession", encode(t, sessionSpec("s1", 2, 1, nodeB, nodeA)))
	session := decode[contract.Session](t, l.ok(nodeA, "GetSession", "s1"))
	require.Equal(t, "list", session.Enrolment)
	require.Equal(t, []string{nodeA.nodeID(), nodeB.nodeID()}, session.Participants)
	l.fails(contract.CodeDuplicate, nodeA, "JoinSession", "s1")
	l.fails(contract.CodeNotParticipant, nodeC, "JoinSession", "s1")
}

func TestStartSessionOpensRoundOne(t *testing.T) {
	l := newLedger(t)
	l.register(nodeA, nodeB, nodeC)
	l.ok(admin1, "CreateSession", encode(t, sessionSpec("s1", 2, 3)))
	l.ok(nodeC, "JoinSession", "s1")
	l.ok(nodeA, "JoinSession", "s1")
	l.ok(nodeB, "JoinSession", "s1")
	l.advance(time.Hour)
	another := identity{msp: "Org1MSP", cn: "Admin2@org1.example.com", admin: true}
	l.fails(contract.CodeNotAdmin, another, "StartSession", "s1")
	l.fails(contract.CodeNotAdmin, nodeA, "StartSession", "s1")
	l.fails(contract.CodeNotFound, admin1, "StartSession", "s2")

	session := decode[contract.Session](t, l.ok(admin1, "StartSession", "s1"))
	startTx := l.lastTxID()
	require.Equal(t, "running", session.Status)
	require.Equal(t, 1, session.CurrentRound)
	require.Equal(t, stamp(start.Add(time.Hour)), session.StartedAt)
	// Sorted: Org1MSP/node-a, Org2MSP/node-b, Org3MSP/node-c; round 1 attempt 0 -> index 1.
	round := l.round("s1", 1)
	require.Equal(t, nodeB.nodeID(), round.Aggregator)
	require.Equal(t, "collecting", round.Phase)
	require.Equal(t, 0, round.Attempt)
	require.Equal(t, stamp(start.Add(time.Hour)), round.OpenedAt)
	require.Equal(t, stamp(start.Add(time.Hour+600*time.Second)), round.PhaseDeadline)
	require.Equal(t, contract.Event{
		Event: "SessionStarted", SessionID: "s1", Round: 1, Phase: "collecting", Aggregator: nodeB.nodeID(), NodeID: admin1.nodeID(), TxID: startTx,
	}, l.startedEvent())
	l.fails(contract.CodeWrongPhase, admin1, "StartSession", "s1")
	l.fails(contract.CodeNotFound, nodeA, "GetRound", "s1", "2")
}

func TestStartSessionChecksParticipantsAndQuorum(t *testing.T) {
	l := newLedger(t)
	l.register(nodeA, nodeB)
	l.ok(admin1, "CreateSession", encode(t, sessionSpec("empty", 1, 1)))
	l.fails(contract.CodeBadArgument, admin1, "StartSession", "empty")

	l.ok(admin1, "CreateSession", encode(t, sessionSpec("q3", 3, 1)))
	l.ok(nodeA, "JoinSession", "q3")
	l.ok(nodeB, "JoinSession", "q3")
	msg := l.fails(contract.CodeBadArgument, admin1, "StartSession", "q3")
	require.Contains(t, msg, "quorum 3 exceeds the 2 participants")

	l.ok(admin1, "CreateSession", encode(t, sessionSpec("listed", 2, 1, nodeA, nodeB, nodeC)))
	msg = l.fails(contract.CodeNotRegistered, admin1, "StartSession", "listed")
	require.Contains(t, msg, nodeC.nodeID())
	l.register(nodeC)
	l.ok(nodeC, "DeactivateNode", nodeC.nodeID())
	l.fails(contract.CodeNotRegistered, admin1, "StartSession", "listed")
}

func TestListSessionsIsSorted(t *testing.T) {
	l := newLedger(t)
	require.JSONEq(t, `[]`, l.ok(nodeA, "ListSessions"))
	for _, id := range []string{"s2", "s10", "a1"} {
		l.ok(admin2, "CreateSession", encode(t, sessionSpec(id, 1, 1)))
	}
	var ids []string
	for _, session := range decode[[]contract.Session](t, l.ok(nodeA, "ListSessions")) {
		ids = append(ids, session.SessionID)
	}
	require.Equal(t, []string{"a1", "s10", "s2"}, ids)
}

// startedEvent returns the latest SessionStarted event.
func (l *ledger) startedEvent() contract.Event {
	for i := len(l.events) - 1; i >= 0; i-- {
		if l.events[i].Event == "SessionStarted" {
			return l.events[i]
		}
	}
	l.t.Fatal("no SessionStarted event")
	return contract.Event{}
}
