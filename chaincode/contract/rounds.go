package contract

import (
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
)

// SubmitUpdate records the caller's local adapter for the current round: once
// per participant, while the round is collecting and before its deadline. The
// hash must be new to the session, and numExamples at most the session's
// maxExamples. When every participant has submitted, the round moves to
// "aggregating". Returns the Round; emits UpdateSubmitted or
// AggregationStarted.
func (c *Contract) SubmitUpdate(ctx contractapi.TransactionContextInterface, sessionID, round, sha256, numExamples, metricsJSON string) (out string, err error) {
	defer recoverPanic("SubmitUpdate", &out, &err)
	update, err := parseUpdate(sha256, numExamples, metricsJSON)
	if err != nil {
		return "", err
	}
	rs, err := loadRound(ctx, sessionID, round)
	if err != nil {
		return "", err
	}
	if err := rs.requireOpenPhase(PhaseCollecting, "SubmitUpdate"); err != nil {
		return "", err
	}
	if update.NumExamples > rs.session.MaxExamples {
		return "", fail(CodeBadArgument, "numExamples %d exceeds the %d examples session %s admits per update", update.NumExamples, rs.session.MaxExamples, sessionID)
	}
	if previous, done := rs.round.Updates[rs.who.id]; done {
		return "", fail(CodeDuplicate, "%s already submitted %s for round %d of session %s", rs.who.id, previous.SHA256, rs.round.Round, sessionID)
	}
	if err := rs.indexUpdate(sha256); err != nil {
		return "", err
	}
	update.SubmittedAt, update.TxID = formatTime(rs.now), rs.stub.GetTxID()
	rs.round.Updates[rs.who.id] = update
	event := "UpdateSubmitted"
	if len(rs.round.Updates) == len(rs.session.Participants) {
		rs.startAggregation()
		event = "AggregationStarted"
	}
	return rs.commit(event, sha256)
}

// ProposeAggregate records the elected aggregator's result: the aggregate hash,
// the exact inputs and weights, the rule and the optimizer-state hash. The
// proposal counts as the aggregator's own acceptance; the rule, name and
// parameters, must be the session's. Returns the Round; emits
// AggregateProposed.
func (c *Contract) ProposeAggregate(ctx contractapi.TransactionContextInterface, sessionID, round, proposalJSON string) (out string, err error) {
	defer recoverPanic("ProposeAggregate", &out, &err)
	input, err := parseProposal(proposalJSON)
	if err != nil {
		return "", err
	}
	rs, err := loadRound(ctx, sessionID, round)
	if err != nil {
		return "", err
	}
	if err := rs.requireAggregator(); err != nil {
		return "", err
	}
	if err := rs.checkProposal(&input); err != nil {
		return "", err
	}
	if err := rs.indexAggregate(input); err != nil {
		return "", err
	}
	at, txID := formatTime(rs.now), rs.stub.GetTxID()
	rs.round.Proposal = &Proposal{
		Aggregator: rs.who.id, Attempt: rs.round.Attempt, Inputs: input.Inputs, OptimizerStateSHA256: input.OptimizerStateSHA256,
		ProposedAt: at, Rule: input.Rule, SHA256: input.SHA256, TxID: txID, Weights: input.Weights,
	}
	rs.round.Endorsements = map[string]Endorsement{rs.who.id: {Accept: true, At: at, Reason: "proposed", SHA256: input.SHA256, TxID: txID}}
	// One acceptance from one org never passes (see minFinalOrgs), so the
	// round always waits for the other participants' verdicts.
	rs.enterPhase(PhaseEndorsing, rs.session.Deadlines.EndorseSeconds)
	return rs.commit("AggregateProposed", input.SHA256)
}

// EndorseAggregate records a participant's verdict on the current proposal.
// The hash must be the proposed one. The round is final once quorum accepted
// it (from at least two orgs); once so many rejected that this is out of
// reach, the next aggregator takes over (or the round fails after its last
// attempt). Returns the Round; emits AggregateEndorsed, AggregateRejected,
// RoundFinalized, SessionCompleted, AggregatorFailedOver or RoundFailed.
func (c *Contract) EndorseAggregate(ctx contractapi.TransactionContextInterface, sessionID, round, sha256, accept, reason string) (out string, err error) {
	defer recoverPanic("EndorseAggregate", &out, &err)
	verdict, err := parseVerdict(sha256, accept, reason)
	if err != nil {
		return "", err
	}
	rs, err := loadRound(ctx, sessionID, round)
	if err != nil {
		return "", err
	}
	if err := rs.requireOpenPhase(PhaseEndorsing, "EndorseAggregate"); err != nil {
		return "", err
	}
	if err := rs.checkVerdict(verdict); err != nil {
		return "", err
	}
	verdict.At, verdict.TxID = formatTime(rs.now), rs.stub.GetTxID()
	rs.round.Endorsements[rs.who.id] = verdict
	fallback := "AggregateEndorsed"
	if !verdict.Accept {
		fallback = "AggregateRejected"
	}
	event, err := rs.settle(fallback)
	if err != nil {
		return "", err
	}
	return rs.commit(event, sha256)
}

// ReportTimeout acts on a passed phase deadline (by transaction time). While
// collecting: with at least quorum updates the round moves to aggregating,
// with fewer the round and the session fail. While aggregating or endorsing:
// the next aggregator takes over, or, once the round has used all its
// attempts, the round and the session fail. Any participant may call it.
// Returns the Round; emits AggregationStarted, RoundFailed or
// AggregatorFailedOver.
func (c *Contract) ReportTimeout(ctx contractapi.TransactionContextInterface, sessionID, round string) (out string, err error) {
	defer recoverPanic("ReportTimeout", &out, &err)
	rs, err := loadRound(ctx, sessionID, round)
	if err != nil {
		return "", err
	}
	if err := rs.requireDeadlinePassed(); err != nil {
		return "", err
	}
	switch {
	case rs.round.Phase != PhaseCollecting:
		event, err := rs.failover(causeTimeout)
		return commitOrFail(rs, event, err)
	case len(rs.round.Updates) >= rs.session.Quorum:
		rs.startAggregation()
		return rs.commit("AggregationStarted", "")
	default:
		return commitOrFail(rs, "RoundFailed", rs.failCollection())
	}
}

func commitOrFail(rs *roundState, event string, err error) (string, error) {
	if err != nil {
		return "", err
	}
	return rs.commit(event, "")
}
