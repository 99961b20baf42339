package contract

import (
	"math"
	"sort"
	"strings"
)

// Bounds on a session spec; generous, but they keep keys and loops small.
const (
	maxSessionRounds   = 10000
	maxPhaseSeconds    = 7 * 24 * 3600
	maxLoraRank        = 4096
	maxTargetModules   = 64
	maxSpecParticipant = 1000
)

// parseSpec decodes and validates the JSON argument of CreateSession, sorting its lists.
func parseSpec(raw string) (SessionSpec, error) {
	var spec SessionSpec
	if err := decodeStrict("session spec", raw, &spec); err != nil {
		return spec, err
	}
	checks := []func(*SessionSpec) error{checkSpecIdentity, checkSpecLora, checkSpecDeadlines, checkSpecRule, checkSpecParticipants, checkSpecCounts}
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
	participants, err := sortedUnique("participants", spec.Participants, maxSpecParticipant)
	if err != nil {
		return err
	}
	spec.Participants = participants
	return nil
}

func checkSpecCounts(spec *SessionSpec) error {
	if spec.Rounds < 1 || spec.Rounds > maxSessionRounds {
		return fail(CodeBadArgument, "rounds %d is invalid; pass 1..%d", spec.Rounds, maxSessionRounds)
	}
	return checkQuorum(spec.Quorum, len(spec.Participants))
}

// checkQuorum enforces 1 <= quorum <= n; n == 0 means participants are not known yet.
func checkQuorum(quorum, participants int) error {
	if quorum < 1 {
		return fail(CodeBadArgument, "quorum %d is invalid; it must be at least 1", quorum)
	}
	if participants > 0 && quorum > participants {
		return fail(CodeBadArgument, "quorum %d exceeds the %d participants; lower the quorum or add participants", quorum, participants)
	}
	return nil
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
