package contract

import (
	"maps"
	"math"
	"sort"

	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
)

// loadCaller checks the caller and the session of a round transaction: the
// caller must be an active node and a participant of the running session.
// It returns the stored session and the round number.
func loadCaller(ctx contractapi.TransactionContextInterface, sessionID, roundArg string) (*roundState, int, error) {
	who, err := callerOf(ctx)
	if err != nil {
		return nil, 0, err
	}
	r, err := parseRound(roundArg)
	if err != nil {
		return nil, 0, err
	}
	stub := ctx.GetStub()
	if _, err := requireActiveNode(stub, who.id); err != nil {
		return nil, 0, err
	}
	session, err := requireSession(stub, sessionID)
	if err != nil {
		return nil, 0, err
	}
	if session.Status != SessionRunning {
		return nil, 0, fail(CodeWrongPhase, "session %s is %s, not running", sessionID, session.Status)
	}
	if !contains(session.Participants, who.id) {
		return nil, 0, fail(CodeNotParticipant, "node %s is not a participant of session %s", who.id, sessionID)
	}
	return &roundState{stub: stub, who: who, session: session}, r, nil
}

// loadRound checks a round transaction and reads its round whole: header and
// every entry, with the phase changes they make. The round must be the
// session's current one (older rounds are closed, which stops replays).
func loadRound(ctx contractapi.TransactionContextInterface, sessionID, roundArg string) (*roundState, error) {
	rs, r, err := loadCaller(ctx, sessionID, roundArg)
	if err != nil {
		return nil, err
	}
	view, found, err := readRoundView(rs.stub, rs.session, r)
	if err != nil {
		return nil, err
	}
	if !found || r < rs.session.CurrentRound {
		return nil, rs.notCurrent(r)
	}
	if err := rs.requireUndecided(view); err != nil {
		return nil, err
	}
	rs.round = view
	if r > rs.session.CurrentRound {
		rs.session.CurrentRound, rs.sessionChanged = r, true
	}
	rs.now, err = txTime(rs.stub)
	return rs, err
}

// loadRoundHeader checks a round transaction and reads only its round's
// header (for the round after the stored current one, the previous round
// whole, to know that it is final). SubmitUpdate and EndorseAggregate read no
// other participant's entry, so that concurrent ones do not conflict.
func loadRoundHeader(ctx contractapi.TransactionContextInterface, sessionID, roundArg string) (*roundState, error) {
	rs, r, err := loadCaller(ctx, sessionID, roundArg)
	if err != nil {
		return nil, err
	}
	var header Round
	found := false
	switch r {
	case rs.session.CurrentRound:
		header, found, err = readRound(rs.stub, sessionID, r)
	case rs.session.CurrentRound + 1:
		header, found, err = readNextHeader(rs.stub, rs.session, r)
	}
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, rs.notCurrent(r)
	}
	rs.round = roundView{Round: header}
	rs.round.Updates, rs.round.Endorsements = map[string]Update{}, withProposer(header.Proposal, nil)
	if rs.round.RejectedProposals, err = readRejected(rs.stub, sessionID, r); err != nil {
		return nil, err
	}
	rs.now, err = txTime(rs.stub)
	return rs, err
}

// notCurrent explains why round r takes no transactions.
func (rs *roundState) notCurrent(r int) error {
	session, err := currentSession(rs.stub, rs.session)
	if err != nil {
		return err
	}
	if session.Status != SessionRunning {
		return fail(CodeWrongPhase, "session %s is %s, not running", session.SessionID, session.Status)
	}
	return fail(CodeWrongRound, "round %d of session %s is not open; the current round is %d", r, session.SessionID, session.CurrentRound)
}

// requireUndecided refuses a round that its verdicts made final or failed.
func (rs *roundState) requireUndecided(view roundView) error {
	switch {
	case view.Phase == PhaseFinal && view.number() < rs.session.Rounds:
		return fail(CodeWrongRound, "round %d of session %s is final; the current round is %d", view.number(), rs.session.SessionID, view.number()+1)
	case view.Phase == PhaseFinal:
		return fail(CodeWrongPhase, "session %s is %s, not running", rs.session.SessionID, SessionCompleted)
	case view.Phase == PhaseFailed:
		return fail(CodeWrongPhase, "session %s is %s, not running: %s", rs.session.SessionID, SessionFailed, view.failure)
	}
	return nil
}

// requireOpenPhase checks the phase and that its deadline has not passed.
func (rs *roundState) requireOpenPhase(phase, action string) error {
	if rs.round.Phase != phase {
		return fail(CodeWrongPhase, "round %d of session %s is %s; %s needs phase %s", rs.round.number(), rs.session.SessionID, rs.round.Phase, action, phase)
	}
	deadline, err := parseTime(rs.round.PhaseDeadline)
	if err != nil {
		return err
	}
	if rs.now.After(deadline) {
		return fail(CodeDeadlinePassed, "the %s deadline of round %d of session %s passed at %s; call ReportTimeout", phase, rs.round.number(), rs.session.SessionID, rs.round.PhaseDeadline)
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
		return fail(CodeDeadlineNotPassed, "the %s deadline of round %d of session %s is %s; it has not passed yet", rs.round.Phase, rs.round.number(), rs.session.SessionID, rs.round.PhaseDeadline)
	}
	return nil
}

// requireAggregator checks the phase and that the caller is the elected aggregator.
func (rs *roundState) requireAggregator() error {
	if rs.round.Phase != PhaseAggregating {
		return fail(CodeWrongPhase, "round %d of session %s is %s; ProposeAggregate needs phase %s", rs.round.number(), rs.session.SessionID, rs.round.Phase, PhaseAggregating)
	}
	if rs.who.id != rs.round.Aggregator {
		return fail(CodeNotAggregator, "%s is not the aggregator of round %d attempt %d of session %s; %s is", rs.who.id, rs.round.number(), rs.round.Attempt, rs.session.SessionID, rs.round.Aggregator)
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
		return fail(CodeBadArgument, "node %s submitted no update in round %d of session %s", in.NodeID, rs.round.number(), rs.session.SessionID)
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
	if rs.who.id == proposal.Aggregator {
		return fail(CodeDuplicate, "%s proposed %s; its proposal already counts as its acceptance", rs.who.id, proposal.SHA256)
	}
	previous, done, err := readOwnVerdict(rs.stub, rs.session.SessionID, rs.round.number(), rs.round.Attempt, rs.who.id)
	if err != nil {
		return err
	}
	if done {
		return fail(CodeDuplicate, "%s already endorsed round %d of session %s (accept=%t)", rs.who.id, rs.round.number(), rs.session.SessionID, previous.Accept)
	}
	if verdict.SHA256 != proposal.SHA256 {
		return fail(CodeHashMismatch, "round %d of session %s proposes %s, not %s", rs.round.number(), rs.session.SessionID, proposal.SHA256, verdict.SHA256)
	}
	return nil
}

// checkUpdate requires a first update from this participant, within the session's cap.
func (rs *roundState) checkUpdate(update Update) error {
	if update.NumExamples > rs.session.MaxExamples {
		return fail(CodeBadArgument, "numExamples %d exceeds the %d examples session %s admits per update", update.NumExamples, rs.session.MaxExamples, rs.session.SessionID)
	}
	previous, done, err := readOwnUpdate(rs.stub, rs.session.SessionID, rs.round.number(), rs.who.id)
	if err != nil {
		return err
	}
	if done {
		return fail(CodeDuplicate, "%s already submitted %s for round %d of session %s", rs.who.id, previous.SHA256, rs.round.number(), rs.session.SessionID)
	}
	return nil
}
