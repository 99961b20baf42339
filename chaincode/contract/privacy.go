package contract

import (
	"math"
	"strconv"
)

// A session may fix a differential-privacy budget (Privacy). Each update then
// records the epsilon its node has spent in the session so far, and the
// contract keeps that series within the budget and never decreasing. The
// contract cannot see the training, so the value is the node's own
// accounting; what the chain guarantees is that the record is complete,
// consistent and refused once it would pass the budget.

// submitUpdateUsage names SubmitUpdate's arguments in errors about them.
const submitUpdateUsage = "SubmitUpdate(sessionId, round, sha256, numExamples, metricsJson, [epsilonSpent])"

// checkSpecPrivacy validates an optional privacy budget: every number finite,
// epsilon, the noise multiplier and the clipping norm positive, delta in (0, 1).
func checkSpecPrivacy(spec *SessionSpec) error {
	p := spec.Privacy
	if p == nil {
		return nil
	}
	positive := []struct {
		name  string
		value float64
	}{
		{"privacy.epsilon", p.Epsilon}, {"privacy.noiseMultiplier", p.NoiseMultiplier}, {"privacy.clipNorm", p.ClipNorm},
	}
	for _, field := range positive {
		if !(field.value > 0) || field.value > maxNumberMagnitude {
			return fail(CodeBadArgument, "%s %v is invalid; pass a finite number above 0", field.name, field.value)
		}
	}
	if !(p.Delta > 0 && p.Delta < 1) {
		return fail(CodeBadArgument, "privacy.delta %v is invalid; pass a number in (0, 1), e.g. 1e-5", p.Delta)
	}
	return nil
}

// parseEpsilonSpent reads SubmitUpdate's optional sixth argument: "" when
// absent, else a finite number >= 0. It reports whether one was given.
func parseEpsilonSpent(raw string) (float64, bool, error) {
	if raw == "" {
		return 0, false, nil
	}
	spent, err := strconv.ParseFloat(raw, 64)
	if err != nil || math.IsNaN(spent) || math.IsInf(spent, 0) || spent < 0 {
		return 0, false, fail(CodeBadArgument, "epsilonSpent %q is invalid; pass a finite decimal number >= 0", raw)
	}
	return spent, true, nil
}

// checkBudget applies the session's privacy budget to the caller's update. A
// session without one refuses a non-zero epsilonSpent. A session with one
// requires it, at most the budget's epsilon and at least what the caller
// recorded in its latest earlier update.
func (rs *roundState) checkBudget(update Update, given bool) error {
	budget, sessionID := rs.session.Privacy, rs.session.SessionID
	if budget == nil {
		if update.EpsilonSpent != 0 {
			return fail(CodeBadArgument, "session %s has no privacy budget; leave epsilonSpent out (got %v)", sessionID, update.EpsilonSpent)
		}
		return nil
	}
	if !given {
		return fail(CodeBadArgument, "session %s has a privacy budget (epsilon %v); pass epsilonSpent, the epsilon this node has spent so far: %s", sessionID, budget.Epsilon, submitUpdateUsage)
	}
	if update.EpsilonSpent > budget.Epsilon {
		return fail(CodeBudgetExceeded, "epsilonSpent %v of %s exceeds the privacy budget of session %s (epsilon %v); this node may not submit more updates", update.EpsilonSpent, rs.who.id, sessionID, budget.Epsilon)
	}
	previous, r, found, err := rs.latestOwnUpdate()
	if err != nil || !found {
		return err
	}
	if update.EpsilonSpent < previous.EpsilonSpent {
		return fail(CodeBadArgument, "epsilonSpent %v is below the %v that %s recorded in round %d of session %s; the spent epsilon never decreases", update.EpsilonSpent, previous.EpsilonSpent, rs.who.id, r, sessionID)
	}
	return nil
}

// latestOwnUpdate reads the caller's update of the latest earlier round in
// which it submitted one, newest first: usually one read, of the previous
// round. Only the caller writes these keys, and only in rounds now closed, so
// reading them cannot conflict with another transaction.
func (rs *roundState) latestOwnUpdate() (Update, int, bool, error) {
	for r := rs.round.number() - 1; r >= 1; r-- {
		update, found, err := readOwnUpdate(rs.stub, rs.session.SessionID, r, rs.who.id)
		if err != nil || found {
			return update, r, found, err
		}
	}
	return Update{}, 0, false, nil
}
