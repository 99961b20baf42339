package contract_test

import (
	"fmt"
	"strings"
	"testing"

	"fedlora/chaincode/contract"

	"github.com/stretchr/testify/require"
)

// What a caller writes must be unambiguous and small: one reading of every
// JSON argument (L5), bounded metrics and rule parameters (M5), the session's
// own rule in every proposal (L4) and a per-session cap on declared examples
// (H3).

func TestJSONArgumentsRefuseRepeatedAndCaseVariantKeys(t *testing.T) {
	l := newLedger(t)
	spec := encode(t, sessionSpec("s1", 2, 1, nodeA, nodeB))
	for name, raw := range map[string]string{
		"repeated quorum":    `{"quorum":1,` + spec[1:],
		"case-variant field": strings.Replace(spec, `"sessionId"`, `"SessionId"`, 1),
		"nested variant":     strings.Replace(spec, `"rank"`, `"Rank"`, 1),
		"repeated param":     strings.Replace(spec, `"serverLr":1`, `"serverLr":1,"serverLr":9`, 1),
		"case-variant param": strings.Replace(spec, `"serverLr":1`, `"serverLr":1,"ServerLr":9`, 1),
		"invalid UTF-8":      strings.Replace(spec, `icd10`, "icd\xff", 1),
		"too large":          spec + strings.Repeat(" ", 64<<10),
	} {
		require.NotEmpty(t, l.fails(contract.CodeBadArgument, admin1, "CreateSession", raw), name)
	}
	p := l.session("s1", 2, 1, nodeA, nodeB)
	sha := updateHash("s1", 1, p[0])
	for _, metrics := range []string{`{"loss":0.5,"loss":0.1}`, `{"loss":0.5,"Loss":0.1}`} {
		l.fails(contract.CodeBadArgument, p[0], "SubmitUpdate", "s1", "1", sha, "10", metrics)
	}
	l.submitAll("s1", 1, p...)
	good := proposal(t, hash("agg"), l.round("s1", 1))
	l.fails(contract.CodeBadArgument, p[1], "ProposeAggregate", "s1", "1", strings.Replace(good, `"sha256"`, `"Sha256"`, 1))
	l.fails(contract.CodeBadArgument, p[1], "ProposeAggregate", "s1", "1", `{"sha256":"`+hash("x")+`",`+good[1:])
	l.ok(p[1], "ProposeAggregate", "s1", "1", good)
}

func TestMetricsAreBoundedInNumberNameValueAndSize(t *testing.T) {
	l := newLedger(t)
	p := l.session("s1", 2, 1, nodeA, nodeB)
	many := map[string]float64{}
	for i := 0; i < 17; i++ {
		many[fmt.Sprintf("m%02d", i)] = 1
	}
	for name, metrics := range map[string]string{
		"17 entries":     encode(t, many),
		"long name":      fmt.Sprintf(`{"%s":1}`, strings.Repeat("n", 65)),
		"control char":   `{"lo\u0001ss":1}`,
		"huge value":     `{"loss":1e16}`,
		"huge negative":  `{"loss":-1e16}`,
		"padded to 2KiB": `{"loss":1` + strings.Repeat(" ", 2<<10) + `}`,
	} {
		require.NotEmpty(t, l.fails(contract.CodeBadArgument, p[0], "SubmitUpdate", "s1", "1", updateHash("s1", 1, p[0]), "10", metrics), name)
	}

	// The largest metrics a node may send keep the shared Round value small.
	largest := map[string]float64{}
	for i := 0; i < 16; i++ {
		largest[fmt.Sprintf("%s%02d", strings.Repeat("m", 62), i)] = -1e15 + 0.123456789
	}
	for _, node := range p {
		l.ok(node, "SubmitUpdate", "s1", "1", updateHash("s1", 1, node), "10", encode(t, largest))
	}
	require.Less(t, len(l.ok(nodeA, "GetRound", "s1", "1")), 8<<10)
}

func TestRuleParamsAreBounded(t *testing.T) {
	l := newLedger(t)
	for name, params := range map[string]map[string]float64{
		"17 params": func() map[string]float64 {
			m := map[string]float64{}
			for i := 0; i < 17; i++ {
				m[fmt.Sprint("p", i)] = 1
			}
			return m
		}(),
		"huge value": {"serverLr": 1e300},
		"long name":  {strings.Repeat("p", 65): 1},
	} {
		spec := sessionSpec("s1", 2, 1, nodeA, nodeB)
		spec["rule"] = map[string]any{"name": "fedavg", "params": params}
		require.NotEmpty(t, l.fails(contract.CodeBadArgument, admin1, "CreateSession", encode(t, spec)), name)
	}
}

func TestAProposalMustUseTheSessionsRuleParameters(t *testing.T) {
	l := newLedger(t)
	p := l.session("s1", 2, 1, nodeA, nodeB)
	l.submitAll("s1", 1, p...)
	good := decode[map[string]any](t, proposal(t, hash("agg"), l.round("s1", 1)))
	for name, params := range map[string]map[string]float64{
		"another value": {"serverLr": 10},
		"none":          {},
		"one more":      {"serverLr": 1, "momentum": 0.9},
	} {
		good["rule"] = map[string]any{"name": "fedavg", "params": params}
		msg := l.fails(contract.CodeBadArgument, p[1], "ProposeAggregate", "s1", "1", encode(t, good))
		require.Contains(t, msg, "session's rule", name)
	}
}

func TestDeclaredExamplesAreCappedPerSession(t *testing.T) {
	l := newLedger(t)
	spec := sessionSpec("capped", 2, 1, nodeA, nodeB)
	spec["maxExamples"] = 500
	l.register(nodeA, nodeB)
	session := decode[contract.Session](t, l.ok(admin1, "CreateSession", encode(t, spec)))
	require.Equal(t, int64(500), session.MaxExamples)
	l.ok(admin1, "StartSession", "capped")
	msg := l.fails(contract.CodeBadArgument, nodeA, "SubmitUpdate", "capped", "1", updateHash("capped", 1, nodeA), "501", "{}")
	require.Contains(t, msg, "500")
	l.ok(nodeA, "SubmitUpdate", "capped", "1", updateHash("capped", 1, nodeA), "500", "{}")

	// Without a cap in the spec, a million examples is the most one update may declare.
	l.ok(admin1, "CreateSession", encode(t, sessionSpec("default", 2, 1, nodeA, nodeB)))
	l.ok(admin1, "StartSession", "default")
	require.Equal(t, int64(1_000_000), decode[contract.Session](t, l.ok(nodeA, "GetSession", "default")).MaxExamples)
	l.fails(contract.CodeBadArgument, nodeA, "SubmitUpdate", "default", "1", updateHash("default", 1, nodeA), "1000001", "{}")
	l.ok(nodeA, "SubmitUpdate", "default", "1", updateHash("default", 1, nodeA), "1000000", "{}")

	for _, bad := range []int64{-1, 1_000_000_000_001} {
		spec["sessionId"], spec["maxExamples"] = "bad", bad
		l.fails(contract.CodeBadArgument, admin1, "CreateSession", encode(t, spec))
	}
}
