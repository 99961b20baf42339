package contract

import (
	"maps"
	"math"
	"sort"

	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
)

// loadRound checks the caller and the round number of a round transaction:
// the caller must be an active node and a participant of the running session,
// and the round must be the session's current one (older rounds are closed,
// which stops replays).
func loadRound(ctx contractapi.TransactionContextInterface, sessionID, roundArg string) (*roundState, error) {
	who, err := callerOf(ctx)
	if err != nil {
		return nil, err
	}
	r, err := parseRound(roundArg)
	if err != nil {
		return nil, err
	}
	stub := ctx.GetStub()
	if _, err := requireActiveNode(stub, who.id); err != nil {
		return nil, err
	}
	session, err := requireSession(stub, sessionID)
	if err != nil {
		return nil, err
	}
	if session.Status != SessionRunning {
		return nil, fail(CodeWrongPhase, "session %s is %s, not running", sessionID, session.Status)
	}
	if !contains(session.Participants, who.id) {
		return nil, fail(CodeNotParticipant, "node %s is not a participant of session %s", who.id, sessionID)
	}
	if r != session.CurrentRound {
		return nil, fail(CodeWrongRound, "round %d of session %s is not open; the current round is %d", r, sessionID, session.CurrentRound)
	}
	round, found, err := readRound(stub, sessionID, r)
	if err == nil && !found {
		err = fail(CodeInternal, "round %d of running session %s is missing", r, sessionID)
	}
	if err != nil {
		return nil, err
	}
	now, err := txTime(stub)
	return &roundState{stub: stub, who: who, now: now, session: session, round: round}, err
}

// requireOpenPhase checks the phase and that its deadline has not passed.
func (rs *roundState) requireOpenPhase(phase, action string) error {
	if rs.round.Phase != phase {
		return fail(CodeWrongPhase, "round %d of session %s is %s; %s needs phase %s", rs.round.Round, rs.session.SessionID, rs.round.Phase, action, phase)
	}
	deadline, err := parseTime(rs.round.PhaseDeadline)
	if err != nil {
		return err
	}
	if rs.now.After(deadline) {
		return fail(CodeDeadlinePassed, "the %s deadline of round %d of session %s passed at %s; call ReportTimeout", phase, rs.round.Round, rs.session.SessionID, rs.round.PhaseDeadline)
	}
	return nil
}

// requireDeadlinePassed checks that the current phase has run out of time.
func (rs *roundState) requireDeadlinePassed() error {
	deadline, err := parseTime(rs.round.PhaseDeadline)
	if err != nil {
		return err
	}
	if !rs.now.After(deadline) {
		return fail(CodeDeadlineNotPassed, "the %s deadline of round %d of session %s is %s; it has not passed yet", rs.round.Phase, rs.round.Round, rs.session.SessionID, rs.round.PhaseDeadline)
	}
	return nil
}

// requireAggregator checks the phase and that the caller is the elected aggregator.
func (rs *roundState) requireAggregator() error {
	if rs.round.Phase != PhaseAggregating {
		return fail(CodeWrongPhase, "round %d of session %s is %s; ProposeAggregate needs phase %s", rs.round.Round, rs.session.SessionID, rs.round.Phase, PhaseAggregating)
	}
	if rs.who.id != rs.round.Aggregator {
		return fail(CodeNotAggregator, "%s is not the aggregator of round %d attempt %d of session %s; %s is", rs.who.id, rs.round.Round, rs.round.Attempt, rs.session.SessionID, rs.round.Aggregator)
	}
	return rs.requireOpenPhase(PhaseAggregating, "ProposeAggregate")
}

// checkProposal matches a proposal against the session's rule (name and
// parameters) and the round's updates.
func (rs *roundState) checkProposal(input *ProposalInput) error {
	// Endorsers recompute with the session's rule; a proposal recording other
	// parameters would leave an audit trail that does not say what was done.
	if input.Rule.Name != rs.session.Rule.Name || !maps.Equal(input.Rule.Params, rs.session.Rule.Params) {
		return fail(CodeBadArgument, "proposal rule %q with params %v differs from the session's rule %q with params %v; propose with the session's rule and parameters",
			input.Rule.Name, input.Rule.Params, rs.session.Rule.Name, rs.session.Rule.Params)
	}
	if len(input.Inputs) == 0 {
		return fail(CodeBadArgument, "the proposal lists no inputs; aggregate at least one submitted update")
	}
	sort.Slice(input.Inputs, func(i, j int) bool { return input.Inputs[i].NodeID < input.Inputs[j].NodeID })
	for i, in := range input.Inputs {
		if i > 0 && input.Inputs[i-1].NodeID == in.NodeID {
			return fail(CodeBadArgument, "the proposal lists node %s twice", in.NodeID)
		}
		if err := rs.checkInput(in); err != nil {
			return err
		}
	}
	return checkWeights(input.Inputs, input.Weights)
}

// checkInput requires an input to be exactly an update submitted this round.
func (rs *roundState) checkInput(in Input) error {
	update, found := rs.round.Updates[in.NodeID]
	if !found {
		return fail(CodeBadArgument, "node %s submitted no update in round %d of session %s", in.NodeID, rs.round.Round, rs.session.SessionID)
	}
	if update.SHA256 != in.SHA256 {
		return fail(CodeHashMismatch, "input of %s names %s but %s submitted %s", in.NodeID, in.SHA256, in.NodeID, update.SHA256)
	}
	return nil
}

// checkWeights requires one positive, finite weight per input and nothing else.
func checkWeights(inputs []Input, weights map[string]float64) error {
	if len(weights) != len(inputs) {
		return fail(CodeBadArgument, "the proposal has %d weights for %d inputs; give exactly one weight per input node", len(weights), len(inputs))
	}
	for _, in := range inputs {
		weight, found := weights[in.NodeID]
		if !found {
			return fail(CodeBadArgument, "the proposal has no weight for input node %s", in.NodeID)
		}
		if !(weight > 0) || math.IsInf(weight, 0) {
			return fail(CodeBadArgument, "weight %v of node %s is invalid; weights must be positive and finite", weight, in.NodeID)
		}
	}
	return nil
}

// checkVerdict requires a first verdict from this participant on the proposed hash.
func (rs *roundState) checkVerdict(verdict Endorsement) error {
	proposal := rs.round.Proposal
	if previous, done := rs.round.Endorsements[rs.who.id]; done {
		if rs.who.id == proposal.Aggregator {
			return fail(CodeDuplicate, "%s proposed %s; its proposal already counts as its acceptance", rs.who.id, proposal.SHA256)
		}
		return fail(CodeDuplicate, "%s already endorsed round %d of session %s (accept=%t)", rs.who.id, rs.round.Round, rs.session.SessionID, previous.Accept)
	}
	if verdict.SHA256 != proposal.SHA256 {
		return fail(CodeHashMismatch, "round %d of session %s proposes %s, not %s", rs.round.Round, rs.session.SessionID, proposal.SHA256, verdict.SHA256)
	}
	return nil
}
