package contract

import (
	"math"
	"sort"
	"strings"
)

// Bounds on a session spec; generous, but they keep keys and loops small.
const (
	maxSessionRounds = 10000
	maxPhaseSeconds  = 7 * 24 * 3600
	maxLoraRank      = 4096
	maxTargetModules = 64
	// maxParticipants bounds a session's participants, and so the Round value
	// every round transaction rewrites (one update and one verdict each).
	maxParticipants = 100
	// maxExamplesLimit bounds a session's maxExamples, far above any real shard.
	maxExamplesLimit = 1_000_000_000_000
	// defaultMaxExamples caps declared shard sizes when the spec names no cap:
	// a declaration weights the node's update, so an unbounded one would let
	// one node outweigh everyone else.
	defaultMaxExamples = 1_000_000
)

// parseSpec decodes and validates the JSON argument of CreateSession, sorting its lists.
func parseSpec(raw string) (SessionSpec, error) {
	var spec SessionSpec
	if err := decodeStrict("session spec", raw, maxSpecBytes, &spec); err != nil {
		return spec, err
	}
	checks := []func(*SessionSpec) error{checkSpecIdentity, checkSpecLora, checkSpecDeadlines, checkSpecRule, checkSpecParticipants, checkSpecJoinRules, checkSpecCounts, checkSpecPrivacy}
	for _, check := range checks {
		if err := check(&spec); err != nil {
			return spec, err
		}
	}
	return spec, nil
}

func checkSpecIdentity(spec *SessionSpec) error {
	if err := checkSessionID(spec.SessionID); err != nil {
		return err
	}
	if err := checkText("baseModel", spec.BaseModel); err != nil {
		return err
	}
	if err := checkSHA256("baseModelSha256", spec.BaseModelSHA256); err != nil {
		return err
	}
	return checkText("datasetTag", spec.DatasetTag)
}

func checkSpecLora(spec *SessionSpec) error {
	lora := &spec.Lora
	if lora.Rank < 1 || lora.Rank > maxLoraRank {
		return fail(CodeBadArgument, "lora.rank %d is invalid; pass 1..%d", lora.Rank, maxLoraRank)
	}
	if !(lora.Alpha > 0) || math.IsInf(lora.Alpha, 0) {
		return fail(CodeBadArgument, "lora.alpha %v is invalid; pass a positive number", lora.Alpha)
	}
	if !(lora.Dropout >= 0 && lora.Dropout < 1) {
		return fail(CodeBadArgument, "lora.dropout %v is invalid; pass a number in [0, 1)", lora.Dropout)
	}
	if lora.TopLayers < 0 || lora.TopLayers > maxLoraRank {
		return fail(CodeBadArgument, "lora.topLayers %d is invalid; pass 0 (all) or a layer count", lora.TopLayers)
	}
	modules, err := sortedUnique("lora.targetModules", lora.TargetModules, maxTargetModules)
	if err != nil {
		return err
	}
	lora.TargetModules = modules
	return nil
}

func checkSpecDeadlines(spec *SessionSpec) error {
	phases := []struct {
		name    string
		seconds int64
	}{
		{"deadlines.collectSeconds", spec.Deadlines.CollectSeconds},
		{"deadlines.aggregateSeconds", spec.Deadlines.AggregateSeconds},
		{"deadlines.endorseSeconds", spec.Deadlines.EndorseSeconds},
	}
	for _, phase := range phases {
		if phase.seconds < 1 || phase.seconds > maxPhaseSeconds {
			return fail(CodeBadArgument, "%s %d is invalid; pass 1..%d", phase.name, phase.seconds, maxPhaseSeconds)
		}
	}
	return nil
}

func checkSpecRule(spec *SessionSpec) error {
	if err := checkText("rule.name", spec.Rule.Name); err != nil {
		return err
	}
	if spec.Rule.Params == nil {
		spec.Rule.Params = map[string]float64{}
	}
	return checkNumbers("rule.params", spec.Rule.Params)
}

func checkSpecParticipants(spec *SessionSpec) error {
	if len(spec.Participants) == 0 {
		// Open enrolment: participants come from JoinSession calls.
		spec.Participants = []string{}
		return nil
	}
	for _, id := range spec.Participants {
		msp, cn, found := strings.Cut(id, "/")
		if !found || msp == "" || cn == "" {
			return fail(CodeBadArgument, "participant %q is not a node id; use <mspId>/<certificate CN>", id)
		}
	}
	participants, err := sortedUnique("participants", spec.Participants, maxParticipants)
	if err != nil {
		return err
	}
	spec.Participants = participants
	return checkOrgSpread(spec.SessionID, participants)
}

// checkSpecJoinRules validates allowedOrgs and maxNodesPerOrg, which only
// restrict JoinSession and so only make sense without a participant list.
func checkSpecJoinRules(spec *SessionSpec) error {
	listed := len(spec.Participants) > 0
	if listed && (len(spec.AllowedOrgs) > 0 || spec.MaxNodesPerOrg != 0) {
		return fail(CodeBadArgument, "allowedOrgs and maxNodesPerOrg restrict JoinSession; a session with a participant list takes neither")
	}
	if spec.MaxNodesPerOrg < 0 || spec.MaxNodesPerOrg > maxParticipants {
		return fail(CodeBadArgument, "maxNodesPerOrg %d is invalid; pass 0 (no per-org cap) or 1..%d", spec.MaxNodesPerOrg, maxParticipants)
	}
	if len(spec.AllowedOrgs) == 0 {
		spec.AllowedOrgs = []string{}
		return nil
	}
	orgs, err := sortedUnique("allowedOrgs", spec.AllowedOrgs, maxParticipants)
	if err != nil {
		return err
	}
	for _, msp := range orgs {
		if strings.Contains(msp, "/") {
			return fail(CodeBadArgument, "allowedOrgs entry %q is not an MSP id", msp)
		}
	}
	if len(orgs) < minFinalOrgs {
		return fail(CodeBadArgument, "allowedOrgs names %d org; a round needs verdicts from %d orgs, so list at least %d", len(orgs), minFinalOrgs, minFinalOrgs)
	}
	spec.AllowedOrgs = orgs
	return nil
}

func checkSpecCounts(spec *SessionSpec) error {
	if spec.Rounds < 1 || spec.Rounds > maxSessionRounds {
		return fail(CodeBadArgument, "rounds %d is invalid; pass 1..%d", spec.Rounds, maxSessionRounds)
	}
	if spec.MaxExamples == 0 {
		spec.MaxExamples = defaultMaxExamples
	}
	if spec.MaxExamples < 1 || spec.MaxExamples > maxExamplesLimit {
		return fail(CodeBadArgument, "maxExamples %d is invalid; pass 1..%d, or leave it out for %d", spec.MaxExamples, maxExamplesLimit, defaultMaxExamples)
	}
	return checkQuorum(spec.Quorum, len(spec.Participants))
}

// sortedUnique sorts a list of non-empty strings and rejects duplicates.
func sortedUnique(field string, values []string, limit int) ([]string, error) {
	if len(values) == 0 || len(values) > limit {
		return []string{}, fail(CodeBadArgument, "%s must list 1..%d entries, got %d", field, limit, len(values))
	}
	sorted := append([]string(nil), values...)
	sort.Strings(sorted)
	for i, value := range sorted {
		if err := checkText(field+" entry", value); err != nil {
			return nil, err
		}
		if i > 0 && sorted[i-1] == value {
			return nil, fail(CodeBadArgument, "%s lists %q twice", field, value)
		}
	}
	return sorted, nil
}
