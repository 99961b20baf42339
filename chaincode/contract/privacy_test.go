package contract_test

import (
	"fmt"
	"testing"
	"time"

	"fedlora/chaincode/contract"

	"github.com/stretchr/testify/require"
)

// budget is the privacy budget of the test sessions that have one.
var budget = contract.Privacy{ClipNorm: 1, Delta: 1e-5, Epsilon: 3, NoiseMultiplier: 0.8}

func privacyJSON(p contract.Privacy) map[string]any {
	return map[string]any{"epsilon": p.Epsilon, "delta": p.Delta, "noiseMultiplier": p.NoiseMultiplier, "clipNorm": p.ClipNorm}
}

// privateSession runs a started session whose spec carries budget, and
// returns its participants sorted by node id.
func (l *ledger) privateSession(id string, quorum, rounds int, participants ...identity) []identity {
	l.t.Helper()
	l.register(participants...)
	spec := sessionSpec(id, quorum, rounds, participants...)
	spec["privacy"] = privacyJSON(budget)
	l.ok(admin1, "CreateSession", encode(l.t, spec))
	l.ok(admin1, "StartSession", id)
	return sortedByID(participants)
}

func sortedByID(participants []identity) []identity {
	byNode := map[string]identity{}
	for _, p := range participants {
		byNode[p.nodeID()] = p
	}
	sorted := []identity{}
	for _, id := range keys(byNode) {
		sorted = append(sorted, byNode[id])
	}
	return sorted
}

// submitSpent submits p's update of round r with an epsilonSpent argument.
func (l *ledger) submitSpent(p identity, sessionID string, r int, spent string) (string, error) {
	return l.call(p, "SubmitUpdate", sessionID, fmt.Sprint(r), updateHash(sessionID, r, p), "100", "{}", spent)
}

// finishRound has round r's aggregator propose over the round's updates and the next participant accept.
func (l *ledger) finishRound(sessionID string, r int, p []identity) {
	l.t.Helper()
	sha := hash(fmt.Sprint("agg ", sessionID, " ", r))
	l.ok(p[r%len(p)], "ProposeAggregate", sessionID, fmt.Sprint(r), proposal(l.t, sha, l.round(sessionID, r)))
	l.ok(p[(r+1)%len(p)], "EndorseAggregate", sessionID, fmt.Sprint(r), sha, "true", "")
	require.Equal(l.t, "final", l.round(sessionID, r).Phase)
}

func TestCreateSessionValidatesThePrivacyBudget(t *testing.T) {
	l := newLedger(t)
	for i, bad := range []struct {
		privacy any
		field   string
	}{
		{map[string]any{"epsilon": 0, "delta": 1e-5, "noiseMultiplier": 1, "clipNorm": 1}, "privacy.epsilon"},
		{map[string]any{"epsilon": -1, "delta": 1e-5, "noiseMultiplier": 1, "clipNorm": 1}, "privacy.epsilon"},
		{map[string]any{"epsilon": 1e16, "delta": 1e-5, "noiseMultiplier": 1, "clipNorm": 1}, "privacy.epsilon"},
		{map[string]any{"epsilon": 8, "delta": 0, "noiseMultiplier": 1, "clipNorm": 1}, "privacy.delta"},
		{map[string]any{"epsilon": 8, "delta": 1, "noiseMultiplier": 1, "clipNorm": 1}, "privacy.delta"},
		{map[string]any{"epsilon": 8, "delta": -1e-5, "noiseMultiplier": 1, "clipNorm": 1}, "privacy.delta"},
		{map[string]any{"epsilon": 8, "delta": 1e-5, "noiseMultiplier": 0, "clipNorm": 1}, "privacy.noiseMultiplier"},
		{map[string]any{"epsilon": 8, "delta": 1e-5, "noiseMultiplier": 1, "clipNorm": -2}, "privacy.clipNorm"},
		{map[string]any{"epsilon": 8, "delta": 1e-5, "noiseMultiplier": 1}, "privacy.clipNorm"},
		{map[string]any{"epsilon": 8, "delta": 1e-5, "noiseMultiplier": 1, "clipNorm": 1, "sigma": 2}, "sigma"},
		{map[string]any{"epsilon": "8", "delta": 1e-5, "noiseMultiplier": 1, "clipNorm": 1}, "privacy"},
	} {
		spec := sessionSpec(fmt.Sprint("bad", i), 1, 1)
		spec["privacy"] = bad.privacy
		msg := l.fails(contract.CodeBadArgument, admin1, "CreateSession", encode(t, spec))
		require.Contains(t, msg, bad.field)
		require.NotContains(t, msg, "\n")
	}
	// Infinity and NaN cannot be written in JSON at all.
	raw := `{"epsilon":1e999,"delta":1e-5,"noiseMultiplier":1,"clipNorm":1}`
	spec := encode(t, sessionSpec("inf", 1, 1))
	l.fails(contract.CodeBadArgument, admin1, "CreateSession", spec[:len(spec)-1]+`,"privacy":`+raw+"}")

	withBudget := sessionSpec("dp", 1, 1)
	withBudget["privacy"] = privacyJSON(budget)
	session := decode[contract.Session](t, l.ok(admin1, "CreateSession", encode(t, withBudget)))
	require.Equal(t, &budget, session.Privacy)
	require.Equal(t, &budget, decode[contract.Session](t, l.ok(nodeA, "GetSession", "dp")).Privacy)

	plain := l.ok(admin1, "CreateSession", encode(t, sessionSpec("plain", 1, 1)))
	require.Nil(t, decode[contract.Session](t, plain).Privacy)
	require.Contains(t, plain, `"privacy":null`)
	nullBudget := sessionSpec("null", 1, 1)
	nullBudget["privacy"] = nil
	require.Nil(t, decode[contract.Session](t, l.ok(admin1, "CreateSession", encode(t, nullBudget))).Privacy)
}

func TestNoTransactionChangesThePrivacyBudget(t *testing.T) {
	l := newLedger(t)
	p := l.privateSession("s1", 2, 2, nodeA, nodeB, nodeC)
	// The spec is the only way to set it, and a session id is taken once.
	again := sessionSpec("s1", 2, 2, nodeA, nodeB, nodeC)
	again["privacy"] = privacyJSON(contract.Privacy{ClipNorm: 1, Delta: 1e-5, Epsilon: 100, NoiseMultiplier: 0.1})
	l.fails(contract.CodeAlreadyExists, admin1, "CreateSession", encode(t, again))
	l.fails(contract.CodeAlreadyExists, admin1, "CreateSession", encode(t, sessionSpec("s1", 2, 2, nodeA, nodeB, nodeC)))

	// Every transaction that stores the session (start, proposals, a timeout
	// report, completion) keeps the budget as created.
	for r := 1; r <= 2; r++ {
		for _, node := range p {
			_, err := l.submitSpent(node, "s1", r, fmt.Sprint(r))
			require.NoError(t, err)
		}
		l.finishRound("s1", r, p)
	}
	session := decode[contract.Session](t, l.ok(nodeA, "GetSession", "s1"))
	require.Equal(t, "completed", session.Status)
	require.Equal(t, &budget, session.Privacy)
	versions := decode[[]contract.HistoryEntry](t, l.ok(nodeA, "History", "session", "s1"))
	require.GreaterOrEqual(t, len(versions), 3)
	for _, version := range versions {
		require.Equal(t, &budget, decode[contract.Session](t, string(version.Value)).Privacy, version.TxID)
	}
	trail := decode[contract.Trail](t, l.ok(nodeA, "ExportTrail", "s1"))
	require.Equal(t, &budget, trail.Session.Privacy)
	require.Equal(t, 2.0, trail.Rounds[1].Updates[nodeB.nodeID()].EpsilonSpent)
}

func TestSubmitUpdateEnforcesThePrivacyBudget(t *testing.T) {
	l := newLedger(t)
	p := l.privateSession("s1", 2, 2, nodeA, nodeB, nodeC)

	msg := l.fails(contract.CodeBadArgument, nodeA, "SubmitUpdate", "s1", "1", updateHash("s1", 1, nodeA), "100", "{}")
	require.Contains(t, msg, "pass epsilonSpent")
	for _, bad := range []string{"abc", "-1", "NaN", "Inf", "-Inf", "1e999", "0x1p2 x"} {
		l.fails(contract.CodeBadArgument, nodeA, "SubmitUpdate", "s1", "1", updateHash("s1", 1, nodeA), "100", "{}", bad)
	}
	l.fails(contract.CodeBadArgument, nodeA, "SubmitUpdate", "s1", "1", updateHash("s1", 1, nodeA), "100", "{}", "1", "extra")
	msg = l.fails(contract.CodeBudgetExceeded, nodeA, "SubmitUpdate", "s1", "1", updateHash("s1", 1, nodeA), "100", "{}", "3.0001")
	require.Contains(t, msg, "exceeds the privacy budget of session s1 (epsilon 3)")

	round := decode[contract.Round](t, l.ok(nodeA, "SubmitUpdate", "s1", "1", updateHash("s1", 1, nodeA), "100", "{}", "1.25"))
	require.Equal(t, 1.25, round.Updates[nodeA.nodeID()].EpsilonSpent)
	_, err := l.submitSpent(nodeB, "s1", 1, "0")
	require.NoError(t, err)
	_, err = l.submitSpent(nodeC, "s1", 1, "3") // the whole budget, not more
	require.NoError(t, err)
	require.Equal(t, 1.25, l.round("s1", 1).Updates[nodeA.nodeID()].EpsilonSpent)
	l.finishRound("s1", 1, p)

	// The spent epsilon never decreases from a node's previous update.
	msg = l.fails(contract.CodeBadArgument, nodeA, "SubmitUpdate", "s1", "2", updateHash("s1", 2, nodeA), "100", "{}", "1.2")
	require.Contains(t, msg, "below the 1.25 that "+nodeA.nodeID()+" recorded in round 1")
	l.fails(contract.CodeBudgetExceeded, nodeC, "SubmitUpdate", "s1", "2", updateHash("s1", 2, nodeC), "100", "{}", "3.5")
	for node, spent := range map[identity]string{nodeA: "1.25", nodeB: "2", nodeC: "3"} {
		_, err := l.submitSpent(node, "s1", 2, spent)
		require.NoError(t, err, node.nodeID())
	}
	require.Equal(t, 2.0, l.round("s1", 2).Updates[nodeB.nodeID()].EpsilonSpent)
}

func TestTheSpentEpsilonIsComparedWithTheLatestRoundANodeSubmittedIn(t *testing.T) {
	l := newLedger(t)
	p := l.privateSession("s1", 2, 3, nodeA, nodeB, nodeC)
	for _, node := range p {
		_, err := l.submitSpent(node, "s1", 1, "1.5")
		require.NoError(t, err)
	}
	l.finishRound("s1", 1, p)
	// nodeC misses round 2: the round goes on with two updates.
	for _, node := range []identity{nodeA, nodeB} {
		_, err := l.submitSpent(node, "s1", 2, "2")
		require.NoError(t, err)
	}
	l.advance(601 * time.Second)
	l.ok(nodeA, "ReportTimeout", "s1", "2")
	l.finishRound("s1", 2, p)

	msg := l.fails(contract.CodeBadArgument, nodeC, "SubmitUpdate", "s1", "3", updateHash("s1", 3, nodeC), "100", "{}", "1")
	require.Contains(t, msg, "recorded in round 1")
	_, err := l.submitSpent(nodeC, "s1", 3, "1.5")
	require.NoError(t, err)
}

func TestASessionWithoutABudgetRefusesASpentEpsilon(t *testing.T) {
	l := newLedger(t)
	l.session("s1", 2, 1, nodeA, nodeB, nodeC)
	msg := l.fails(contract.CodeBadArgument, nodeA, "SubmitUpdate", "s1", "1", updateHash("s1", 1, nodeA), "100", "{}", "0.5")
	require.Contains(t, msg, "session s1 has no privacy budget")
	_, err := l.submitSpent(nodeA, "s1", 1, "0")
	require.NoError(t, err)
	_, err = l.submitSpent(nodeB, "s1", 1, "")
	require.NoError(t, err)
	l.ok(nodeC, "SubmitUpdate", "s1", "1", updateHash("s1", 1, nodeC), "100", "{}")
	for _, update := range l.round("s1", 1).Updates {
		require.Zero(t, update.EpsilonSpent)
	}
}

func TestUpdatesWithASpentEpsilonOfOneBlockDoNotConflict(t *testing.T) {
	l := newLedger(t)
	p := l.privateSession("s1", 3, 2, nodeA, nodeB, nodeC, nodeD, nodeE)
	submit := func(r int, spent string) func() {
		return func() {
			for _, node := range p {
				_, err := l.submitSpent(node, "s1", r, spent)
				require.NoError(t, err)
			}
		}
	}
	require.Empty(t, l.inBlock(submit(1, "1")))
	round := l.round("s1", 1)
	require.Equal(t, "aggregating", round.Phase)
	l.ok(p[1], "ProposeAggregate", "s1", "1", proposal(t, hash("agg 1"), round))
	for _, node := range []identity{p[0], p[2]} {
		l.ok(node, "EndorseAggregate", "s1", "1", hash("agg 1"), "true", "")
	}
	// Round 2's updates each read their own node's round-1 update, which nobody writes.
	require.Empty(t, l.inBlock(submit(2, "2")))
	require.Equal(t, "aggregating", l.round("s1", 2).Phase)
}

func TestContractapiPassesTheOptionalSpentEpsilonThrough(t *testing.T) {
	sim := newPeerSim(t)
	a := serializedIdentity(t, "Org1MSP", "node-a.org1.example.com", "client")
	b := serializedIdentity(t, "Org2MSP", "node-b.org2.example.com", "client")
	admin := serializedIdentity(t, "Org1MSP", "Admin@org1.example.com", "admin")
	for i, node := range [][]byte{a, b} {
		response := sim.invoke(node, "fedlora:RegisterNode", fmt.Sprintf("node%d:7443", i), hash(fmt.Sprint("tls ", i)))
		require.Equal(t, int32(200), response.GetStatus(), response.GetMessage())
	}
	spec := sessionSpec("s1", 2, 1, nodeA, nodeB)
	spec["privacy"] = privacyJSON(budget)
	for _, call := range [][]string{{"fedlora:CreateSession", encode(t, spec)}, {"fedlora:StartSession", "s1"}} {
		response := sim.invoke(admin, call...)
		require.Equal(t, int32(200), response.GetStatus(), response.GetMessage())
	}
	over := sim.invoke(a, "fedlora:SubmitUpdate", "s1", "1", hash("a"), "10", "{}", "4")
	require.Regexp(t, `^\[BUDGET_EXCEEDED\] `, over.GetMessage())
	missing := sim.invoke(a, "fedlora:SubmitUpdate", "s1", "1", hash("a"), "10", "{}")
	require.Regexp(t, `^\[BAD_ARGUMENT\] .*pass epsilonSpent`, missing.GetMessage())
	within := sim.invoke(a, "fedlora:SubmitUpdate", "s1", "1", hash("a"), "10", "{}", "2.5")
	require.Equal(t, int32(200), within.GetStatus(), within.GetMessage())
	require.Equal(t, 2.5, decode[contract.Round](t, string(within.GetPayload())).Updates[nodeA.nodeID()].EpsilonSpent)
}
